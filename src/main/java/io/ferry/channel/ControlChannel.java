package io.ferry.channel;

/** Paths of the control channel, both directions. */
public final class ControlChannel {

    private ControlChannel() {
    }

    // worker → control plane
    public static final String REGISTER = "/internal/v1/workers/{hostId}";
    public static final String HEARTBEAT = "/internal/v1/workers/{hostId}/heartbeat";

    // control plane → worker
    public static final String STATUS = "/v1/status";
    public static final String GUESTS = "/v1/guests";

    public static String register(String hostId) {
        return REGISTER.replace("{hostId}", hostId);
    }

    public static String heartbeat(String hostId) {
        return HEARTBEAT.replace("{hostId}", hostId);
    }
}
