package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/** The file format of a guest save, by the API's names. */
public enum SaveFormat {
    /** Ferry's guest snapshot: memory, disks and device state, restorable by {@code restoreFrom}. */
    FERRY("ferry"),
    /** QEMU 7.2's {@code pc-i440fx-7.2} machine: the guest's memory only, for QEMU's {@code -incoming}. */
    QEMU("qemu");

    private final String apiName;

    SaveFormat(String apiName) {
        this.apiName = apiName;
    }

    @JsonValue
    public String apiName() {
        return apiName;
    }

    /** @throws IllegalArgumentException for a name no format has */
    @JsonCreator
    public static SaveFormat fromApiName(String name) {
        return Arrays.stream(values()).filter(f -> f.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown save format '" + name + "'"));
    }
}
