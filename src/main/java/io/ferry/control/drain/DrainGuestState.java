package io.ferry.control.drain;

/** One guest of a drain: waiting to be asked for (again), moving, or settled. */
public enum DrainGuestState {
    /** A move is to be asked for at {@code nextAttemptAt} (first try, or a retry after back-off). */
    PENDING("pending", false),
    /** A job moves it. */
    MOVING("moving", false),
    MOVED("moved", true),
    /** Every try failed; {@code cause} says why the last one did. */
    FAILED("failed", true),
    /** No host can take it (capacity, storage, labels, host states); {@code cause} says why for each host. */
    UNPLACEABLE("unplaceable", true),
    /** The drain was stopped before it moved. */
    CANCELLED("cancelled", true);

    private final String apiName;
    private final boolean settled;

    DrainGuestState(String apiName, boolean settled) {
        this.apiName = apiName;
        this.settled = settled;
    }

    public String apiName() {
        return apiName;
    }

    public boolean isSettled() {
        return settled;
    }
}
