package io.ferry.control.job;

import java.util.Arrays;

/** How a job moves disks: shared storage hands ownership over; copy streams the image too. */
public enum StorageMode {
    SHARED("shared"),
    COPY("copy");

    private final String apiName;

    StorageMode(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static StorageMode fromApiName(String name) {
        return Arrays.stream(values()).filter(m -> m.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown storage mode '" + name + "'"));
    }
}
