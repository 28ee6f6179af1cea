package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * How a dirty rate is measured, in QEMU's {@code calc-dirty-rate} names: by hashing sampled pages
 * twice (an estimate), or by counting a dirty log of the measurement's own (exact). The same
 * names in the API, the stored measurement and the control channel.
 */
public enum DirtyRateMode {
    PAGE_SAMPLING("page-sampling"),
    DIRTY_BITMAP("dirty-bitmap");

    private final String apiName;

    DirtyRateMode(String apiName) {
        this.apiName = apiName;
    }

    @JsonValue
    public String apiName() {
        return apiName;
    }

    @JsonCreator
    public static DirtyRateMode fromApiName(String name) {
        return Arrays.stream(values()).filter(m -> m.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown dirty-rate mode '" + name + "'"));
    }
}
