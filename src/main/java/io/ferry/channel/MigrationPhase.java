package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * What a worker's {@link MigrationReport} says of its migration. Spelled on the wire as QEMU
 * spells its states; an unknown name is refused (a worker of another version must not be
 * half-understood).
 */
public enum MigrationPhase {
    /** Setup done, pages flowing. */
    ACTIVE("active"),
    /** Figures only. */
    PROGRESS("progress"),
    /** The destination's digests at switchover. */
    VERIFIED("verified"),
    /** The destination runs the guest (also sent after a recovery). */
    POSTCOPY_ACTIVE("postcopy-active"),
    /** The link broke during post-copy; both sides keep their state. */
    POSTCOPY_PAUSED("postcopy-paused"),
    COMPLETED("completed"),
    FAILED("failed"),
    CANCELLED("cancelled");

    private final String wireName;

    MigrationPhase(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    @JsonCreator
    public static MigrationPhase fromWireName(String name) {
        return Arrays.stream(values()).filter(p -> p.wireName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown migration phase '" + name + "'"));
    }

    /** The migration still runs: nothing to settle yet. */
    public boolean isRunning() {
        return this == ACTIVE || this == PROGRESS;
    }
}
