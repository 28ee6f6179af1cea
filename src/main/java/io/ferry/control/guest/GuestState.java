package io.ferry.control.guest;

import java.util.Arrays;

/**
 * A guest's state as the API shows it; LOST means its worker restarted without it, FAILED that
 * it ended on its own on a live worker (its QEMU process died; the guest's {@code failure} says why).
 */
public enum GuestState {
    RUNNING("running"),
    PAUSED("paused"),
    MIGRATING_OUT("migrating-out"),
    INCOMING("incoming"),
    LOST("lost"),
    FAILED("failed");

    private final String apiName;

    GuestState(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static GuestState fromApiName(String name) {
        return Arrays.stream(values()).filter(s -> s.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown guest state '" + name + "'"));
    }
}
