package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * A guest's state as its worker reports it ({@link GuestReport}), by the API's names. The
 * control plane's record adds what no worker can say (a lost guest).
 */
public enum ReportedGuestState {
    RUNNING("running"),
    PAUSED("paused"),
    MIGRATING_OUT("migrating-out"),
    INCOMING("incoming"),
    /** The guest ended on its own (its QEMU process died); the report says why. Only deleting it remains. */
    FAILED("failed");

    private final String apiName;

    ReportedGuestState(String apiName) {
        this.apiName = apiName;
    }

    @JsonValue
    public String apiName() {
        return apiName;
    }

    /** @throws IllegalArgumentException for a name no state has */
    @JsonCreator
    public static ReportedGuestState fromApiName(String name) {
        return Arrays.stream(values()).filter(s -> s.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown guest state '" + name + "'"));
    }
}
