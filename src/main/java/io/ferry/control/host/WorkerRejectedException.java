package io.ferry.control.host;

/** The worker answered and refused the command; the message carries its reason. */
public class WorkerRejectedException extends RuntimeException {

    private final int status;

    public WorkerRejectedException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The worker's HTTP status: 404 unknown guest, 409 wrong state, 400/422 refused spec. */
    public int status() {
        return status;
    }
}
