package io.ferry.control.job;

/** The job is in a state where the request makes no sense (e.g. post-copy on a job without it). */
public class JobConflictException extends RuntimeException {

    public JobConflictException(String message) {
        super(message);
    }
}
