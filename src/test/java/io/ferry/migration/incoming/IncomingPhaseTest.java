package io.ferry.migration.incoming;

import static io.ferry.migration.incoming.IncomingPhase.ACTIVATING;
import static io.ferry.migration.incoming.IncomingPhase.ADVISED;
import static io.ferry.migration.incoming.IncomingPhase.CHECKING;
import static io.ferry.migration.incoming.IncomingPhase.COMPLETED;
import static io.ferry.migration.incoming.IncomingPhase.DRAINING;
import static io.ferry.migration.incoming.IncomingPhase.EOF_PENDING;
import static io.ferry.migration.incoming.IncomingPhase.FAILED;
import static io.ferry.migration.incoming.IncomingPhase.LISTENING;
import static io.ferry.migration.incoming.IncomingPhase.LISTENING_PAUSED;
import static io.ferry.migration.incoming.IncomingPhase.LISTENING_RECOVERING;
import static io.ferry.migration.incoming.IncomingPhase.POSTCOPY_ABANDONED;
import static io.ferry.migration.incoming.IncomingPhase.POSTCOPY_COMPLETED;
import static io.ferry.migration.incoming.IncomingPhase.POSTCOPY_INCOMPLETE;
import static io.ferry.migration.incoming.IncomingPhase.POSTCOPY_PAUSED;
import static io.ferry.migration.incoming.IncomingPhase.POSTCOPY_RECOVERING;
import static io.ferry.migration.incoming.IncomingPhase.POSTCOPY_RUNNING;
import static io.ferry.migration.incoming.IncomingPhase.RECEIVING;
import static io.ferry.migration.incoming.IncomingPhase.RUN_PENDING;
import static io.ferry.migration.incoming.IncomingPhase.RUN_PENDING_PAUSED;
import static io.ferry.migration.incoming.IncomingPhase.RUN_PENDING_RECOVERING;
import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.migration.PhaseMachine;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The destination's transition table, row by row, what each phase allows, and the machine that enforces it. */
class IncomingPhaseTest {

    private static final Set<IncomingPhase> ENDS =
            EnumSet.of(COMPLETED, POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE, POSTCOPY_ABANDONED, FAILED);

    @Test
    void theTableIsExactlyThis() {
        assertThat(IncomingPhase.next(RECEIVING)).containsExactlyInAnyOrder(ADVISED, CHECKING, FAILED);
        assertThat(IncomingPhase.next(ADVISED)).containsExactlyInAnyOrder(LISTENING, CHECKING, FAILED);
        assertThat(IncomingPhase.next(LISTENING)).containsExactlyInAnyOrder(LISTENING_PAUSED, LISTENING_RECOVERING,
                RUN_PENDING, POSTCOPY_RUNNING, CHECKING, FAILED);
        assertThat(IncomingPhase.next(LISTENING_PAUSED)).containsExactlyInAnyOrder(LISTENING_RECOVERING);
        assertThat(IncomingPhase.next(LISTENING_RECOVERING)).containsExactlyInAnyOrder(LISTENING,
                RUN_PENDING_RECOVERING, POSTCOPY_RECOVERING, CHECKING, FAILED);
        assertThat(IncomingPhase.next(RUN_PENDING)).containsExactlyInAnyOrder(RUN_PENDING_PAUSED,
                RUN_PENDING_RECOVERING, POSTCOPY_RUNNING, EOF_PENDING, FAILED);
        assertThat(IncomingPhase.next(RUN_PENDING_PAUSED)).containsExactlyInAnyOrder(RUN_PENDING_RECOVERING,
                POSTCOPY_PAUSED, FAILED);
        assertThat(IncomingPhase.next(RUN_PENDING_RECOVERING)).containsExactlyInAnyOrder(RUN_PENDING,
                POSTCOPY_RECOVERING, EOF_PENDING, FAILED);
        assertThat(IncomingPhase.next(POSTCOPY_RUNNING)).containsExactlyInAnyOrder(POSTCOPY_PAUSED,
                POSTCOPY_RECOVERING, DRAINING);
        assertThat(IncomingPhase.next(POSTCOPY_PAUSED)).containsExactlyInAnyOrder(POSTCOPY_RECOVERING,
                POSTCOPY_ABANDONED);
        assertThat(IncomingPhase.next(POSTCOPY_RECOVERING)).containsExactlyInAnyOrder(POSTCOPY_RUNNING, DRAINING,
                POSTCOPY_ABANDONED);
        assertThat(IncomingPhase.next(EOF_PENDING)).containsExactlyInAnyOrder(DRAINING, FAILED);
        assertThat(IncomingPhase.next(DRAINING)).containsExactlyInAnyOrder(POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE);
        assertThat(IncomingPhase.next(CHECKING)).containsExactlyInAnyOrder(ACTIVATING, COMPLETED, FAILED);
        assertThat(IncomingPhase.next(ACTIVATING)).containsExactlyInAnyOrder(COMPLETED, FAILED);
        for (IncomingPhase end : ENDS) {
            assertThat(IncomingPhase.next(end)).as("%s is an end", end).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(IncomingPhase.class)
    void everyPhaseHasARowAndOnlyTheEndsAreEmpty(IncomingPhase phase) {
        assertThat(IncomingPhase.next(phase)).as("%s's row", phase).isNotNull();
        assertThat(phase.terminal()).isEqualTo(ENDS.contains(phase));
        assertThat(phase.terminal()).isEqualTo(IncomingPhase.next(phase).isEmpty());
    }

    /** What each phase allows: the predicates that hold in it (every other one does not). */
    private static final Map<IncomingPhase, Set<String>> HOLDS = Map.ofEntries(
            entry(RECEIVING, Set.of("acceptsPreempt", "cancellable", "readsPreemptPages")),
            entry(ADVISED, Set.of("acceptsPreempt", "cancellable", "acceptsDiscards", "readsPreemptPages")),
            entry(LISTENING, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "acceptsDiscards",
                    "readsPreemptPages")),
            entry(LISTENING_PAUSED, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "acceptsDiscards",
                    "readsPreemptPages", "linkLost")),
            entry(LISTENING_RECOVERING, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "acceptsDiscards",
                    "readsPreemptPages", "linkLost", "recovering")),
            entry(RUN_PENDING, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "acceptsDiscards",
                    "readsPreemptPages", "runSeen")),
            entry(RUN_PENDING_PAUSED, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "acceptsDiscards",
                    "readsPreemptPages", "runSeen", "linkLost")),
            entry(RUN_PENDING_RECOVERING, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "acceptsDiscards",
                    "readsPreemptPages", "runSeen", "linkLost", "recovering")),
            entry(POSTCOPY_RUNNING, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "readsPreemptPages",
                    "runSeen", "demandPaging", "guestRunsHere")),
            entry(POSTCOPY_PAUSED, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "readsPreemptPages",
                    "runSeen", "demandPaging", "guestRunsHere", "linkLost", "abandonable")),
            entry(POSTCOPY_RECOVERING, Set.of("acceptsRecovery", "acceptsPreempt", "postcopy", "readsPreemptPages",
                    "runSeen", "demandPaging", "guestRunsHere", "linkLost", "recovering", "abandonable")),
            entry(EOF_PENDING, Set.of("ended", "postcopy", "runSeen")),
            entry(DRAINING, Set.of("ended", "postcopy", "runSeen", "demandPaging", "readsPreemptPages",
                    "guestRunsHere")),
            entry(CHECKING, Set.of("ended")),
            entry(ACTIVATING, Set.of("ended")),
            entry(COMPLETED, Set.of("ended", "guestRunsHere", "terminal")),
            entry(POSTCOPY_COMPLETED, Set.of("ended", "runSeen", "demandPaging", "readsPreemptPages", "guestRunsHere",
                    "terminal")),
            entry(POSTCOPY_INCOMPLETE, Set.of("ended", "runSeen", "demandPaging", "readsPreemptPages", "guestRunsHere",
                    "terminal")),
            entry(POSTCOPY_ABANDONED, Set.of("ended", "runSeen", "demandPaging", "readsPreemptPages", "guestRunsHere",
                    "terminal")),
            entry(FAILED, Set.of("ended", "terminal")));

    private static final Map<String, Predicate<IncomingPhase>> PREDICATES = new LinkedHashMap<>();

    static {
        PREDICATES.put("ended", IncomingPhase::ended);
        PREDICATES.put("terminal", IncomingPhase::terminal);
        PREDICATES.put("acceptsRecovery", IncomingPhase::acceptsRecovery);
        PREDICATES.put("acceptsPreempt", IncomingPhase::acceptsPreempt);
        PREDICATES.put("postcopy", IncomingPhase::postcopy);
        PREDICATES.put("cancellable", IncomingPhase::cancellable);
        PREDICATES.put("linkLost", IncomingPhase::linkLost);
        PREDICATES.put("recovering", IncomingPhase::recovering);
        PREDICATES.put("acceptsDiscards", IncomingPhase::acceptsDiscards);
        PREDICATES.put("runSeen", IncomingPhase::runSeen);
        PREDICATES.put("demandPaging", IncomingPhase::demandPaging);
        PREDICATES.put("readsPreemptPages", IncomingPhase::readsPreemptPages);
        PREDICATES.put("guestRunsHere", IncomingPhase::guestRunsHere);
        PREDICATES.put("abandonable", IncomingPhase::abandonable);
    }

    @ParameterizedTest
    @EnumSource(IncomingPhase.class)
    void eachPhaseAllowsExactlyWhatItsRowSays(IncomingPhase phase) {
        assertThat(HOLDS).as("every phase is described").containsKey(phase);
        assertThat(PREDICATES.keySet()).containsAll(HOLDS.get(phase));
        PREDICATES.forEach((name, predicate) -> assertThat(predicate.test(phase))
                .as("%s.%s()", phase, name).isEqualTo(HOLDS.get(phase).contains(name)));
    }

    @ParameterizedTest
    @EnumSource(IncomingPhase.class)
    void whatWasDecidedIsNeverUndone(IncomingPhase phase) {
        for (IncomingPhase next : IncomingPhase.next(phase)) {
            String move = phase + " -> " + next;
            if (phase.guestRunsHere()) {
                assertThat(next.guestRunsHere()).as("a guest that may have run here is never dropped: " + move).isTrue();
            }
            if (phase.ended()) {
                assertThat(next.ended()).as("no connection is read again after the end: " + move).isTrue();
            }
            if (phase.runSeen()) {
                assertThat(next.runSeen() || next == FAILED).as("RUN is not forgotten: " + move).isTrue();
            }
            if (phase.demandPaging()) {
                assertThat(next.demandPaging()).as("present pages are never overwritten again: " + move).isTrue();
            }
            if (phase.postcopy() && !next.postcopy() && !next.terminal()) {
                // only the stream's end without RUN (no source sends one) leaves post-copy for pre-copy's end
                assertThat(next).as(move).isEqualTo(CHECKING);
                assertThat(phase.runSeen()).as(move).isFalse();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(IncomingPhase.class)
    void aLostLinkComesBackOnlyThroughARecoveryAndOnlyPostCopyPauses(IncomingPhase phase) {
        for (IncomingPhase next : IncomingPhase.next(phase)) {
            if (phase.linkLost() && !phase.recovering() && next.acceptsRecovery()) {
                assertThat(next.linkLost()).as(phase + " -> " + next).isTrue();
            }
            if (next.linkLost()) {
                assertThat(phase.acceptsRecovery()).as(phase + " -> " + next).isTrue();
            }
        }
        // before LISTEN a lost link drops the guest; from LISTEN on it pauses
        if (phase.cancellable()) {
            assertThat(IncomingPhase.next(phase)).contains(FAILED).noneMatch(IncomingPhase::linkLost);
        }
    }

    @Test
    void everyOtherFormOfAStageIsInTheTable() {
        List<Function<IncomingPhase, IncomingPhase>> forms = List.of(IncomingPhase::toPaused,
                IncomingPhase::toRecovering, IncomingPhase::toResumed, IncomingPhase::toRunPending,
                IncomingPhase::toGuestRunning);
        int moves = 0;
        for (IncomingPhase phase : IncomingPhase.values()) {
            for (Function<IncomingPhase, IncomingPhase> form : forms) {
                IncomingPhase other;
                try {
                    other = form.apply(phase);
                } catch (IllegalStateException none) {
                    continue;
                }
                assertThat(IncomingPhase.next(phase)).as(phase + " -> " + other).contains(other);
                moves++;
            }
        }
        assertThat(moves).isEqualTo(3 + 6 + 3 + 2 + 5);
        assertThat(POSTCOPY_RUNNING.toPaused()).isEqualTo(POSTCOPY_PAUSED);
        assertThat(RUN_PENDING_PAUSED.toRecovering()).isEqualTo(RUN_PENDING_RECOVERING);
        assertThat(LISTENING_RECOVERING.toResumed()).isEqualTo(LISTENING);
        assertThat(RUN_PENDING_PAUSED.toGuestRunning()).isEqualTo(POSTCOPY_PAUSED);
        assertThatThrownBy(LISTENING_PAUSED::toRunPending).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void everyPhaseIsReachableAndEveryPhaseCanEnd() {
        Set<IncomingPhase> reachable = reachableFrom(RECEIVING);
        assertThat(reachable).containsExactlyInAnyOrder(IncomingPhase.values());
        for (IncomingPhase phase : IncomingPhase.values()) {
            assertThat(reachableFrom(phase)).as("an end from %s", phase).containsAnyElementsOf(ENDS);
        }
        // once the guest runs here, only its post-copy ends remain
        assertThat(reachableFrom(POSTCOPY_RUNNING)).containsExactlyInAnyOrder(POSTCOPY_RUNNING, POSTCOPY_PAUSED,
                POSTCOPY_RECOVERING, DRAINING, POSTCOPY_COMPLETED, POSTCOPY_INCOMPLETE, POSTCOPY_ABANDONED);
    }

    private static Set<IncomingPhase> reachableFrom(IncomingPhase start) {
        Set<IncomingPhase> reachable = EnumSet.of(start);
        List<IncomingPhase> frontier = new ArrayList<>(List.of(start));
        while (!frontier.isEmpty()) {
            for (IncomingPhase n : IncomingPhase.next(frontier.remove(0))) {
                if (reachable.add(n)) {
                    frontier.add(n);
                }
            }
        }
        return reachable;
    }

    @Test
    void theMachineRefusesAMoveOutsideTheTableAndOfTwoRacersOneWins() throws Exception {
        PhaseMachine<IncomingPhase> machine = new PhaseMachine<>("destination", RECEIVING, IncomingPhase::next);
        assertThatThrownBy(() -> machine.moveTo(POSTCOPY_RUNNING)).isInstanceOf(IllegalStateException.class)
                .hasMessage("destination cannot move from RECEIVING to POSTCOPY_RUNNING");
        // a cancel and a lost multifd channel both drop the guest: exactly once
        AtomicInteger winners = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> racers = new ArrayList<>();
        for (IncomingPhase target : List.of(FAILED, CHECKING, FAILED, CHECKING)) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                if (machine.moveFrom(RECEIVING, target)) {
                    winners.incrementAndGet();
                }
            });
            racers.add(t);
            t.start();
        }
        go.countDown();
        for (Thread t : racers) {
            t.join();
        }
        assertThat(winners).hasValue(1);
        assertThat(machine.current()).isIn(FAILED, CHECKING);
    }
}
