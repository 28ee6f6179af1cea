package io.ferry.migration.incoming;

import io.ferry.migration.PhaseMachine;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The destination's lifecycle. QEMU keeps it in two variables, how far post-copy got (its
 * {@code PostcopyState}: NONE, ADVISE, LISTENING, RUNNING, END) and the state of the link
 * (postcopy-active, -paused, -recover); here they are one phase, so every post-copy stage before
 * the end has a form with its link up, lost ({@code _PAUSED}) and being recovered
 * ({@code _RECOVERING}): a link may break, and come back, at any of them. Ferry adds the checks
 * at EOF and the control plane's activation of the disks.
 *
 * <p>What may happen to the incoming guest follows from the phase alone: before
 * {@link #LISTENING} a lost link or a cancel drops it (the source keeps its own); from
 * {@link #LISTENING} on a lost link pauses instead, never drops it; from {@link #ACTIVATING} only
 * the control plane's records decide; and a guest that may have run here is never dropped.
 */
public enum IncomingPhase {
    /** The pre-copy stream: pages, block chunks, then the device state (QEMU's NONE). */
    RECEIVING,
    /** POSTCOPY_ADVISE read: the pages present here are tracked; discards may come, or the stream ends as pre-copy. */
    ADVISED,
    /** POSTCOPY_LISTEN read: every discard is in, the present-pages bitmap is the truth; a broken link is recoverable. */
    LISTENING,
    /** The link broke after LISTEN, before RUN: the guest has not started here; it waits for a recovery. */
    LISTENING_PAUSED,
    /** After LISTEN, before RUN, a recovery's connection attached; POSTCOPY_RESUME not read yet. */
    LISTENING_RECOVERING,
    /** POSTCOPY_RUN read and the stream checked: the guest runs once the control plane activated its disks. */
    RUN_PENDING,
    /** The link broke while the disks were being activated. */
    RUN_PENDING_PAUSED,
    /** A recovery's connection attached while the disks were being activated; POSTCOPY_RESUME not read yet. */
    RUN_PENDING_RECOVERING,
    /** The guest runs here; the pages it lacks are asked for and placed where none is yet (QEMU's RUNNING). */
    POSTCOPY_RUNNING,
    /** The link broke: the guest runs on, an access to a page still at the source waits for a recovery. */
    POSTCOPY_PAUSED,
    /** A recovery's connection attached while the guest runs here; POSTCOPY_RESUME not read yet. */
    POSTCOPY_RECOVERING,
    /** EOF read while the disks were still being activated: once they are, the guest runs and post-copy ends. */
    EOF_PENDING,
    /**
     * EOF read while the guest runs here: post-copy ends as soon as every page is here; requested
     * pages sent on the preempt channel before EOF may still come while it is open.
     */
    DRAINING,
    /** Pre-copy's EOF read: the device state is loaded, copied images flushed, digests compared. */
    CHECKING,
    /** The stream passed: the control plane is asked to activate the disks here; only its records decide now. */
    ACTIVATING,
    /** Pre-copy's end: the guest runs here (or stays paused, as it was on the source). */
    COMPLETED,
    /** Every page arrived: the guest runs here without demand paging. */
    POSTCOPY_COMPLETED,
    /** Post-copy's stream ended with pages never sent: the guest runs here on what it has, the source was told. */
    POSTCOPY_INCOMPLETE,
    /** An admin ended a stranded post-copy keeping the guest here: the pages that never came are zero pages. */
    POSTCOPY_ABANDONED,
    /** The incoming guest was dropped (a refused stream or activation, a lost link or a cancel before LISTEN). */
    FAILED;

    private static final Map<IncomingPhase, Set<IncomingPhase>> NEXT = PhaseMachine.table(IncomingPhase.class,
            Map.ofEntries(
                    Map.entry(RECEIVING, EnumSet.of(ADVISED, CHECKING, FAILED)),
                    // ADVISE only offers post-copy: the stream may still end as pre-copy
                    Map.entry(ADVISED, EnumSet.of(LISTENING, CHECKING, FAILED)),
                    // RUN with disks waits for their activation, without runs at once; a RUN that fails the checks
                    // drops the guest; an EOF without RUN (no source sends one) ends the stream as pre-copy's does
                    Map.entry(LISTENING, EnumSet.of(LISTENING_PAUSED, LISTENING_RECOVERING, RUN_PENDING,
                            POSTCOPY_RUNNING, CHECKING, FAILED)),
                    Map.entry(LISTENING_PAUSED, EnumSet.of(LISTENING_RECOVERING)),
                    // RESUME; or the recovery's connection goes on as the stream before RESUME (no source does)
                    Map.entry(LISTENING_RECOVERING, EnumSet.of(LISTENING, RUN_PENDING_RECOVERING, POSTCOPY_RECOVERING,
                            CHECKING, FAILED)),
                    // the activation granted, or refused (the guest never ran here); EOF before it was decided
                    Map.entry(RUN_PENDING, EnumSet.of(RUN_PENDING_PAUSED, RUN_PENDING_RECOVERING, POSTCOPY_RUNNING,
                            EOF_PENDING, FAILED)),
                    Map.entry(RUN_PENDING_PAUSED, EnumSet.of(RUN_PENDING_RECOVERING, POSTCOPY_PAUSED, FAILED)),
                    Map.entry(RUN_PENDING_RECOVERING, EnumSet.of(RUN_PENDING, POSTCOPY_RECOVERING, EOF_PENDING, FAILED)),
                    // once the guest ran here it is never dropped
                    Map.entry(POSTCOPY_RUNNING, EnumSet.of(POSTCOPY_PAUSED, POSTCOPY_RECOVERING, DRAINING)),
                    Map.entry(POSTCOPY_PAUSED, EnumSet.of(POSTCOPY_RECOVERING, POSTCOPY_ABANDONED)),
                    Map.entry(POSTCOPY_RECOVERING, EnumSet.of(POSTCOPY_RUNNING, DRAINING, POSTCOPY_ABANDONED)),
                    Map.entry(EOF_PENDING, EnumSet.of(DRAINING, FAILED)),
                    Map.entry(DRAINING, EnumSet.of(POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE)),
                    // without disks the guest runs at once
                    Map.entry(CHECKING, EnumSet.of(ACTIVATING, COMPLETED, FAILED)),
                    Map.entry(ACTIVATING, EnumSet.of(COMPLETED, FAILED)),
                    Map.entry(COMPLETED, PhaseMachine.none(IncomingPhase.class)),
                    Map.entry(POSTCOPY_COMPLETED, PhaseMachine.none(IncomingPhase.class)),
                    Map.entry(POSTCOPY_INCOMPLETE, PhaseMachine.none(IncomingPhase.class)),
                    Map.entry(POSTCOPY_ABANDONED, PhaseMachine.none(IncomingPhase.class)),
                    Map.entry(FAILED, PhaseMachine.none(IncomingPhase.class))));

    private static final Set<IncomingPhase> LINK_UP = EnumSet.of(LISTENING, RUN_PENDING, POSTCOPY_RUNNING);
    private static final Set<IncomingPhase> PAUSED = EnumSet.of(LISTENING_PAUSED, RUN_PENDING_PAUSED, POSTCOPY_PAUSED);
    private static final Set<IncomingPhase> RECOVERING =
            EnumSet.of(LISTENING_RECOVERING, RUN_PENDING_RECOVERING, POSTCOPY_RECOVERING);
    private static final Set<IncomingPhase> STREAM_OVER = EnumSet.of(EOF_PENDING, DRAINING, CHECKING, ACTIVATING,
            COMPLETED, POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE, POSTCOPY_ABANDONED, FAILED);
    private static final Set<IncomingPhase> RUN_SEEN = EnumSet.of(RUN_PENDING, RUN_PENDING_PAUSED,
            RUN_PENDING_RECOVERING, POSTCOPY_RUNNING, POSTCOPY_PAUSED, POSTCOPY_RECOVERING, EOF_PENDING, DRAINING,
            POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE, POSTCOPY_ABANDONED);
    private static final Set<IncomingPhase> DEMAND_PAGING = EnumSet.of(POSTCOPY_RUNNING, POSTCOPY_PAUSED,
            POSTCOPY_RECOVERING, DRAINING, POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE, POSTCOPY_ABANDONED);
    private static final Set<IncomingPhase> DISCARDS = EnumSet.of(ADVISED, LISTENING, LISTENING_PAUSED,
            LISTENING_RECOVERING, RUN_PENDING, RUN_PENDING_PAUSED, RUN_PENDING_RECOVERING);

    static Set<IncomingPhase> next(IncomingPhase phase) {
        return NEXT.get(phase);
    }

    public boolean terminal() {
        return NEXT.get(this).isEmpty();
    }

    /** The stream is over for this side: no connection's bytes are read any more, and none attaches. */
    public boolean ended() {
        return STREAM_OVER.contains(this);
    }

    /**
     * Post-copy runs here and its end is open (LISTEN read, not EOF): a new connection from the
     * source may take the stream over (QEMU's recovery), and a broken link pauses rather than drops.
     */
    public boolean acceptsRecovery() {
        return LINK_UP.contains(this) || PAUSED.contains(this) || RECOVERING.contains(this);
    }

    /** The source may add (or, after a recovery, re-open) the post-copy preempt channel, given a stream attached. */
    public boolean acceptsPreempt() {
        return !ended();
    }

    /**
     * Post-copy may run the guest here and its end is not decided: a cancel does not drop the
     * guest (the control plane merely stops wanting reports).
     */
    public boolean postcopy() {
        return acceptsRecovery() || this == EOF_PENDING || this == DRAINING;
    }

    /**
     * XBZRLE pages are applied: before LISTEN, every page here is the copy the source encodes
     * against. From LISTEN on QEMU reads pages as post-copy's ({@code ram_load_postcopy}), which
     * refuses them: copies were discarded and the guest may write its own.
     */
    public boolean acceptsXbzrle() {
        return this == RECEIVING || this == ADVISED;
    }

    /** Nothing has let the source stop holding the guest: a cancel or a lost link drops the incoming one. */
    public boolean cancellable() {
        return this == RECEIVING || this == ADVISED;
    }

    /** The link is lost: paused, or a recovery's connection attached and RESUME not read yet. */
    public boolean linkLost() {
        return PAUSED.contains(this) || RECOVERING.contains(this);
    }

    /** A recovery's connection is attached and POSTCOPY_RESUME not read yet: RECV_BITMAP and RESUME are expected. */
    public boolean recovering() {
        return RECOVERING.contains(this);
    }

    /** POSTCOPY_RAM_DISCARD is taken: post-copy was advised and the guest does not run here yet. */
    public boolean acceptsDiscards() {
        return DISCARDS.contains(this);
    }

    /** POSTCOPY_RUN was read and checked: a repeated RUN, and the device state sent with it, are ignored. */
    public boolean runSeen() {
        return RUN_SEEN.contains(this);
    }

    /**
     * Since RUN the guest runs here on demand-paged memory: a page present here may have been
     * written by it, so an arriving page is placed only where none is yet (DemandPaging.claim).
     */
    public boolean demandPaging() {
        return DEMAND_PAGING.contains(this);
    }

    /**
     * The preempt channel's bytes are read: the stream is on, or the guest runs here on demand
     * (after EOF too: what the source sent there before EOF is placed, and may end post-copy).
     */
    public boolean readsPreemptPages() {
        return !ended() || demandPaging();
    }

    /** The guest runs (or may run) here: it is never dropped from such a phase. */
    public boolean guestRunsHere() {
        return this == COMPLETED || demandPaging();
    }

    /** An admin may end post-copy here keeping the guest ({@code abandonPostcopy}): it runs here, its link is lost. */
    public boolean abandonable() {
        return this == POSTCOPY_PAUSED || this == POSTCOPY_RECOVERING;
    }

    // ---- the same stage of post-copy, another link state; the same link state, a later stage ----

    /** The link broke. */
    IncomingPhase toPaused() {
        return switch (this) {
            case LISTENING -> LISTENING_PAUSED;
            case RUN_PENDING -> RUN_PENDING_PAUSED;
            case POSTCOPY_RUNNING -> POSTCOPY_PAUSED;
            default -> throw new IllegalStateException(this + " has no paused form");
        };
    }

    /** A recovery's connection attached (the source may reconnect before this side saw the old link end). */
    IncomingPhase toRecovering() {
        return switch (this) {
            case LISTENING, LISTENING_PAUSED -> LISTENING_RECOVERING;
            case RUN_PENDING, RUN_PENDING_PAUSED -> RUN_PENDING_RECOVERING;
            case POSTCOPY_RUNNING, POSTCOPY_PAUSED -> POSTCOPY_RECOVERING;
            default -> throw new IllegalStateException(this + " has no recovering form");
        };
    }

    /** POSTCOPY_RESUME read: the link is back. */
    IncomingPhase toResumed() {
        return switch (this) {
            case LISTENING_RECOVERING -> LISTENING;
            case RUN_PENDING_RECOVERING -> RUN_PENDING;
            case POSTCOPY_RECOVERING -> POSTCOPY_RUNNING;
            default -> throw new IllegalStateException(this + " is not recovering");
        };
    }

    /** RUN read (it comes on a connection, so the link is up or being recovered); the disks are being activated. */
    IncomingPhase toRunPending() {
        return switch (this) {
            case LISTENING -> RUN_PENDING;
            case LISTENING_RECOVERING -> RUN_PENDING_RECOVERING;
            default -> throw new IllegalStateException(this + " does not wait for RUN");
        };
    }

    /** The guest starts to run here: at RUN without disks, or once they are activated. */
    IncomingPhase toGuestRunning() {
        return switch (this) {
            case LISTENING, RUN_PENDING -> POSTCOPY_RUNNING;
            case LISTENING_RECOVERING, RUN_PENDING_RECOVERING -> POSTCOPY_RECOVERING;
            case RUN_PENDING_PAUSED -> POSTCOPY_PAUSED;
            default -> throw new IllegalStateException(this + " cannot start the guest");
        };
    }

    /**
     * Moves {@code phases} to {@code to} if the phase now satisfies {@code from}, by compare-and-set: false when
     * it does not (another thread moved it first, e.g. a cancel racing a lost multifd channel).
     */
    static boolean moveIf(PhaseMachine<IncomingPhase> phases, Predicate<IncomingPhase> from, IncomingPhase to) {
        while (true) {
            IncomingPhase now = phases.current();
            if (!from.test(now)) {
                return false;
            }
            if (phases.moveFrom(now, to)) {
                return true;
            }
        }
    }
}
