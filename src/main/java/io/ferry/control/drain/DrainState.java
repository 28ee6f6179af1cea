package io.ferry.control.drain;

/** A host drain's lifecycle: draining until every guest is settled, or until an uncordon stops it. */
public enum DrainState {
    DRAINING("draining"),
    /** Every guest moved, or was reported with the cause it could not. */
    COMPLETED("completed"),
    /** Uncordoned before it finished: moves not yet started were cancelled. */
    CANCELLED("cancelled");

    private final String apiName;

    DrainState(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }
}
