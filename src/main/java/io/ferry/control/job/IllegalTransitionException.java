package io.ferry.control.job;

/** A job was asked to move along an edge that the {@link JobStatus} table does not have. */
public class IllegalTransitionException extends RuntimeException {

    private final JobStatus from;
    private final JobStatus to;

    public IllegalTransitionException(JobStatus from, JobStatus to) {
        super("illegal job transition from '" + from.apiName() + "' to '" + to.apiName() + "'");
        this.from = from;
        this.to = to;
    }

    public JobStatus from() {
        return from;
    }

    public JobStatus to() {
        return to;
    }
}
