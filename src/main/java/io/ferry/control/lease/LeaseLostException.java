package io.ferry.control.lease;

import java.util.UUID;

/** This replica no longer drives the job (another took its lease over): its write is refused. */
public class LeaseLostException extends RuntimeException {

    public LeaseLostException(UUID jobId, long epoch) {
        super("this replica's lease on job " + jobId + " (epoch " + epoch + ") was taken over; the write is refused");
    }
}
