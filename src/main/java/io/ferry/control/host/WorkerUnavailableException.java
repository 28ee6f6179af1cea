package io.ferry.control.host;

/** The worker of a host could not be reached, or did not answer in time. */
public class WorkerUnavailableException extends RuntimeException {

    public WorkerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
