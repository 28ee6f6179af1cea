package io.ferry.migration;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One side's lifecycle: the phase it is in, moved only along its transition table, by
 * compare-and-set (so of two threads racing for one move exactly one wins), each move logged.
 * The table is the only place that says which moves are legal, as {@code JobStatus}'s is for jobs.
 */
public final class PhaseMachine<P extends Enum<P>> {

    private static final Logger log = LoggerFactory.getLogger(PhaseMachine.class);

    private final String side;
    private final Function<P, Set<P>> next;
    private final AtomicReference<P> current;

    /** Starts in {@code initial}; {@code side} names the machine in logs ("source", "destination"). */
    public PhaseMachine(String side, P initial, Function<P, Set<P>> next) {
        this.side = side;
        this.next = next;
        this.current = new AtomicReference<>(initial);
    }

    public P current() {
        return current.get();
    }

    public boolean is(P phase) {
        return current.get() == phase;
    }

    /**
     * Moves from {@code from} to {@code to}. False when the phase is no longer {@code from}
     * (another thread moved it first).
     *
     * @throws IllegalStateException when the table has no such move: a bug, never a race
     */
    public boolean moveFrom(P from, P to) {
        if (!next.apply(from).contains(to)) {
            throw new IllegalStateException(side + " cannot move from " + from + " to " + to);
        }
        if (!current.compareAndSet(from, to)) {
            return false;
        }
        log.info("{} phase {} -> {}", side, from, to);
        return true;
    }

    /**
     * Moves from whatever the phase is now to {@code to}.
     *
     * @throws IllegalStateException when the table has no move from the current phase to {@code to}
     */
    public void moveTo(P to) {
        while (true) {
            P from = current.get();
            if (moveFrom(from, to)) {
                return;
            }
        }
    }

    /** Builds a table from pairs of (phase, the phases it may move to); every phase must appear. */
    public static <P extends Enum<P>> Map<P, Set<P>> table(Class<P> type, Map<P, Set<P>> moves) {
        for (P phase : type.getEnumConstants()) {
            if (!moves.containsKey(phase)) {
                throw new IllegalArgumentException(type.getSimpleName() + "." + phase + " has no row");
            }
        }
        return moves;
    }

    /** No move out: an end. */
    public static <P extends Enum<P>> Set<P> none(Class<P> type) {
        return EnumSet.noneOf(type);
    }
}
