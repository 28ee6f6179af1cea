package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/** What runs a guest on its worker, by the API's names. */
public enum GuestRuntime {
    /** Memory, disks and a workload inside the worker process (the default). */
    SYNTHETIC("synthetic"),
    /** A qemu-system-x86_64 process the worker starts and drives over QMP. */
    QEMU("qemu");

    private final String apiName;

    GuestRuntime(String apiName) {
        this.apiName = apiName;
    }

    @JsonValue
    public String apiName() {
        return apiName;
    }

    /** @throws IllegalArgumentException for a name no runtime has */
    @JsonCreator
    public static GuestRuntime fromApiName(String name) {
        return Arrays.stream(values()).filter(r -> r.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown guest runtime '" + name + "'"));
    }
}
