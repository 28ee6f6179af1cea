package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * How a job moves disks: shared storage hands ownership over; copy streams the image too. The
 * same names in the API, the job record and the control channel.
 */
public enum StorageMode {
    SHARED("shared"),
    COPY("copy");

    private final String apiName;

    StorageMode(String apiName) {
        this.apiName = apiName;
    }

    @JsonValue
    public String apiName() {
        return apiName;
    }

    @JsonCreator
    public static StorageMode fromApiName(String name) {
        return Arrays.stream(values()).filter(m -> m.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown storage mode '" + name + "'"));
    }
}
