package io.ferry.channel;

import java.util.List;

/** Worker's answer to {@link ControlChannel#STATUS}: who it is and what it hosts. */
public record WorkerStatus(String hostId, String workerInstance, String dataAddress, long pid,
                           List<GuestReport> guests) {
}
