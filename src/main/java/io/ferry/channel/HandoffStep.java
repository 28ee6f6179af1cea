package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/** The compare-and-set steps of a disk hand-off (see {@link OwnershipStep}), by their wire names. */
public enum HandoffStep {
    /** Source, after flushing and inactivating: ACTIVE@source g → HANDOFF g+1. */
    HANDOFF("handoff"),
    /** Destination, stream complete: HANDOFF g+1 → ACTIVE@destination g+2, the guest recorded there. */
    ACTIVATE("activate"),
    /** The same, made at post-copy's RUN: the guest runs on the destination, pages still arriving. */
    ACTIVATE_POSTCOPY("activate-postcopy"),
    /** Source failing back: HANDOFF g+1 → ACTIVE@source g+2 (or ACTIVE g → ACTIVE g+1 if never handed off). */
    REACTIVATE("reactivate");

    private final String wireName;

    HandoffStep(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    /** @throws IllegalArgumentException for a name no step has */
    @JsonCreator
    public static HandoffStep fromWireName(String name) {
        return Arrays.stream(values()).filter(s -> s.wireName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown hand-off step '" + name + "'"));
    }

    /** The wire name: what logs and messages say. */
    @Override
    public String toString() {
        return wireName;
    }

    /** Either kind of activation: the destination's step. */
    public boolean activates() {
        return this == ACTIVATE || this == ACTIVATE_POSTCOPY;
    }
}
