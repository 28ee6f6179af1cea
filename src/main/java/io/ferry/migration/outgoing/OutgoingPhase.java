package io.ferry.migration.outgoing;

import io.ferry.migration.PhaseMachine;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The source's lifecycle. What may happen to the guest on a failure follows from the phase alone:
 * before {@link #SWITCHOVER} it runs here as before; in {@link #HANDOFF} (images fenced, or the
 * whole stream out) only the control plane or the destination's explicit refusal gives it back;
 * in post-copy both hosts hold parts of it and nothing here is ever resumed or dropped.
 */
public enum OutgoingPhase {
    /** Checking the disks' generations, connecting, announcing the layout. */
    SETUP,
    /** The first round: every page once. */
    BULK,
    /** Later rounds: what the guest dirtied meanwhile. */
    ITERATE,
    /** Committed: the guest is paused here; the last pages and chunks go out. No cancel from here. */
    SWITCHOVER,
    /** The images are fenced (or, without disks, the whole stream is out): the guest comes back only by decision. */
    HANDOFF,
    /** RUN was sent: the destination may run the guest and asks for what it lacks. */
    POSTCOPY_ACTIVE,
    /** The link broke during post-copy: the guest stays paused here with the pages only this host has. */
    POSTCOPY_PAUSED,
    COMPLETED,
    FAILED,
    CANCELLED;

    private static final Map<OutgoingPhase, Set<OutgoingPhase>> NEXT = PhaseMachine.table(OutgoingPhase.class,
            Map.of(
                    SETUP, EnumSet.of(BULK, FAILED, CANCELLED),
                    BULK, EnumSet.of(ITERATE, SWITCHOVER, FAILED, CANCELLED),
                    ITERATE, EnumSet.of(SWITCHOVER, FAILED, CANCELLED),
                    // a switch to post-copy without disks goes straight to RUN
                    SWITCHOVER, EnumSet.of(HANDOFF, POSTCOPY_ACTIVE, FAILED),
                    HANDOFF, EnumSet.of(POSTCOPY_ACTIVE, COMPLETED, FAILED),
                    POSTCOPY_ACTIVE, EnumSet.of(POSTCOPY_PAUSED, COMPLETED, FAILED),
                    // recovered, or settled: handed over after all, failed back, or abandoned by an admin
                    POSTCOPY_PAUSED, EnumSet.of(POSTCOPY_ACTIVE, COMPLETED, FAILED),
                    COMPLETED, PhaseMachine.none(OutgoingPhase.class),
                    FAILED, PhaseMachine.none(OutgoingPhase.class),
                    CANCELLED, PhaseMachine.none(OutgoingPhase.class)));

    static Set<OutgoingPhase> next(OutgoingPhase phase) {
        return NEXT.get(phase);
    }

    /** The switchover has begun: a cancel can no longer be honoured, the destination may get the guest. */
    public boolean committed() {
        return compareTo(SWITCHOVER) >= 0;
    }

    /** The destination may run the guest: both hosts hold parts of it. */
    public boolean postcopy() {
        return this == POSTCOPY_ACTIVE || this == POSTCOPY_PAUSED;
    }

    public boolean terminal() {
        return NEXT.get(this).isEmpty();
    }
}
