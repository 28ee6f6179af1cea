package io.ferry.control.ownership;

/**
 * ACTIVE: the owner host may write the image. HANDOFF: both sides hold it inactive while
 * ownership moves; nobody writes.
 */
public enum OwnershipState {
    ACTIVE("active"),
    HANDOFF("handoff");

    private final String apiName;

    OwnershipState(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }
}
