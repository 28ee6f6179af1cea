package io.ferry.control.job;

import java.util.Arrays;

/** A queued job's class: higher classes are admitted first, FIFO within a class. Declared highest first. */
public enum JobPriority {
    /** The platform's own moves (e.g. a failing host's guests). */
    SYSTEM("system"),
    /** What a caller asks for, unless it or a policy says otherwise. */
    USER("user"),
    /** Planned maintenance: host drains. */
    MAINTENANCE("maintenance");

    private final String apiName;

    JobPriority(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static JobPriority fromApiName(String name) {
        return Arrays.stream(values()).filter(p -> p.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown priority '" + name + "'"));
    }
}
