package io.ferry.control.guest;

import java.util.Arrays;

/**
 * A dirty-rate measurement's lifecycle, QEMU's query-dirty-rate statuses less {@code unstarted}
 * (a guest never measured has no measurement), plus {@code failed}: the worker could not measure,
 * or no result came back in time. Only {@code measuring → measured | failed}; a new measurement
 * replaces a finished one.
 */
public enum DirtyRateStatus {
    MEASURING("measuring"),
    MEASURED("measured"),
    FAILED("failed");

    private final String apiName;

    DirtyRateStatus(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public boolean isRunning() {
        return this == MEASURING;
    }

    public static DirtyRateStatus fromApiName(String name) {
        return Arrays.stream(values()).filter(s -> s.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown dirty-rate status '" + name + "'"));
    }
}
