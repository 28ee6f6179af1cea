package io.ferry.control.job;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Lifecycle of a migration job, spelled as QEMU spells its migration states, plus a queue.
 * The transition table below is the only place that decides which moves are legal.
 */
public enum JobStatus {
    QUEUED("queued"),
    SETUP("setup"),
    ACTIVE("active"),
    POSTCOPY_ACTIVE("postcopy-active"),
    POSTCOPY_PAUSED("postcopy-paused"),
    CANCELLING("cancelling"),
    COMPLETED("completed"),
    FAILED("failed"),
    CANCELLED("cancelled");

    private static final Map<JobStatus, Set<JobStatus>> NEXT = Map.of(
            QUEUED, EnumSet.of(SETUP, CANCELLED, FAILED),
            SETUP, EnumSet.of(ACTIVE, CANCELLING, FAILED),
            // A link lost while switching to post-copy pauses it before it was ever active.
            ACTIVE, EnumSet.of(POSTCOPY_ACTIVE, POSTCOPY_PAUSED, COMPLETED, CANCELLING, FAILED),
            // Once post-copy runs, the guest's state is split across both hosts: no cancel.
            POSTCOPY_ACTIVE, EnumSet.of(COMPLETED, POSTCOPY_PAUSED, FAILED),
            // Paused post-copy holds unique data on both sides; it only recovers or fails by decision.
            POSTCOPY_PAUSED, EnumSet.of(POSTCOPY_ACTIVE, FAILED),
            // A cancel the source could no longer honour: the switchover won, the guest moved.
            CANCELLING, EnumSet.of(CANCELLED, COMPLETED, FAILED),
            COMPLETED, EnumSet.noneOf(JobStatus.class),
            FAILED, EnumSet.noneOf(JobStatus.class),
            CANCELLED, EnumSet.noneOf(JobStatus.class));

    private final String apiName;

    JobStatus(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static JobStatus fromApiName(String name) {
        return Arrays.stream(values())
                .filter(s -> s.apiName.equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown job status '" + name + "'"));
    }

    public boolean canMoveTo(JobStatus next) {
        return NEXT.get(this).contains(next);
    }

    /** Throws {@link IllegalTransitionException} naming both states when the move is not in the table. */
    public void checkTransition(JobStatus next) {
        if (!canMoveTo(next)) {
            throw new IllegalTransitionException(this, next);
        }
    }

    public boolean isTerminal() {
        return NEXT.get(this).isEmpty();
    }

    /** The guest is being moved: source and destination both hold a part of it. */
    public boolean isRunning() {
        return this == SETUP || this == ACTIVE || this == POSTCOPY_ACTIVE || this == POSTCOPY_PAUSED || this == CANCELLING;
    }

    /** The guest runs on the destination already, or is about to: pre-copy's tools no longer apply. */
    public boolean isPostcopy() {
        return this == POSTCOPY_ACTIVE || this == POSTCOPY_PAUSED;
    }

    /** Cancel is honoured only where it would not lose the guest (QEMU refuses it once post-copy started). */
    public boolean isCancellable() {
        return this == QUEUED || canMoveTo(CANCELLING);
    }
}
