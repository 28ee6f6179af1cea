package io.ferry.guest;

import java.util.EnumSet;
import java.util.Set;

/**
 * Lifecycle of a hosted guest, and the one table of legal moves between states.
 *
 * <pre>
 *   RUNNING ⇄ PAUSED                 pause / resume
 *   RUNNING, PAUSED → MIGRATING_OUT  an outgoing migration starts; the workload keeps whatever
 *                                    run state it had (a live migration of a running guest)
 *   MIGRATING_OUT → PAUSED           switchover: the source stops for the final copy and stays
 *                                    stopped after success (QEMU's postmigrate)
 *   MIGRATING_OUT → RUNNING          the migration was cancelled or failed; the source goes on
 *   INCOMING → RUNNING, PAUSED       the incoming migration completed; the destination starts
 *                                    (or stays stopped if the source guest was paused)
 * </pre>
 *
 * INCOMING is entered only at creation, by {@link SyntheticGuest#createIncoming}: nothing moves
 * back into it, because a guest that has run holds data no migration stream may overwrite.
 */
public enum GuestState {
    RUNNING("running"),
    PAUSED("paused"),
    MIGRATING_OUT("migrating-out"),
    INCOMING("incoming");

    private final String apiName;

    GuestState(String apiName) {
        this.apiName = apiName;
    }

    /** The name used in the HTTP API and on the control channel. */
    public String apiName() {
        return apiName;
    }

    public boolean canTransitionTo(GuestState next) {
        return successors().contains(next);
    }

    /** @throws IllegalStateException naming both states if {@code this → next} is not in the table */
    public void checkTransitionTo(GuestState next) {
        if (!canTransitionTo(next)) {
            throw new IllegalStateException("illegal guest state transition " + this + " -> " + next);
        }
    }

    private Set<GuestState> successors() {
        return switch (this) {
            case RUNNING -> EnumSet.of(PAUSED, MIGRATING_OUT);
            case PAUSED -> EnumSet.of(RUNNING, MIGRATING_OUT);
            case MIGRATING_OUT -> EnumSet.of(PAUSED, RUNNING);
            case INCOMING -> EnumSet.of(RUNNING, PAUSED);
        };
    }

    /** Looks up a state by its {@link #apiName()}. */
    public static GuestState fromApiName(String apiName) {
        for (GuestState state : values()) {
            if (state.apiName.equals(apiName)) {
                return state;
            }
        }
        throw new IllegalArgumentException("unknown guest state '" + apiName + "'");
    }
}
