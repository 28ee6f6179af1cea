package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * ACTIVE: the owner host may write the image. HANDOFF: both sides hold it inactive while
 * ownership moves; nobody writes. The same names in the API, the database and the control channel.
 */
public enum OwnershipState {
    ACTIVE("active"),
    HANDOFF("handoff");

    private final String apiName;

    OwnershipState(String apiName) {
        this.apiName = apiName;
    }

    @JsonValue
    public String apiName() {
        return apiName;
    }

    /** @throws IllegalArgumentException for a name no state has */
    @JsonCreator
    public static OwnershipState fromApiName(String name) {
        return Arrays.stream(values()).filter(s -> s.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown ownership state '" + name + "'"));
    }
}
