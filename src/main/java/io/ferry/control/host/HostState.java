package io.ferry.control.host;

/** Whether a worker's heartbeats are arriving. */
public enum HostState {
    REACHABLE("reachable"),
    UNREACHABLE("unreachable");

    private final String apiName;

    HostState(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }
}
