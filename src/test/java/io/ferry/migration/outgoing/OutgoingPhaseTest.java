package io.ferry.migration.outgoing;

import static io.ferry.migration.outgoing.OutgoingPhase.BULK;
import static io.ferry.migration.outgoing.OutgoingPhase.CANCELLED;
import static io.ferry.migration.outgoing.OutgoingPhase.COMPLETED;
import static io.ferry.migration.outgoing.OutgoingPhase.FAILED;
import static io.ferry.migration.outgoing.OutgoingPhase.HANDOFF;
import static io.ferry.migration.outgoing.OutgoingPhase.ITERATE;
import static io.ferry.migration.outgoing.OutgoingPhase.POSTCOPY_ACTIVE;
import static io.ferry.migration.outgoing.OutgoingPhase.POSTCOPY_PAUSED;
import static io.ferry.migration.outgoing.OutgoingPhase.SETUP;
import static io.ferry.migration.outgoing.OutgoingPhase.SWITCHOVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.migration.PhaseMachine;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The source's transition table, row by row, and the machine that enforces it. */
class OutgoingPhaseTest {

    @Test
    void theTableIsExactlyThis() {
        assertThat(OutgoingPhase.next(SETUP)).containsExactlyInAnyOrder(BULK, FAILED, CANCELLED);
        assertThat(OutgoingPhase.next(BULK)).containsExactlyInAnyOrder(ITERATE, SWITCHOVER, FAILED, CANCELLED);
        assertThat(OutgoingPhase.next(ITERATE)).containsExactlyInAnyOrder(SWITCHOVER, FAILED, CANCELLED);
        assertThat(OutgoingPhase.next(SWITCHOVER)).containsExactlyInAnyOrder(HANDOFF, POSTCOPY_ACTIVE, FAILED);
        assertThat(OutgoingPhase.next(HANDOFF)).containsExactlyInAnyOrder(POSTCOPY_ACTIVE, COMPLETED, FAILED);
        assertThat(OutgoingPhase.next(POSTCOPY_ACTIVE)).containsExactlyInAnyOrder(POSTCOPY_PAUSED, COMPLETED, FAILED);
        assertThat(OutgoingPhase.next(POSTCOPY_PAUSED)).containsExactlyInAnyOrder(POSTCOPY_ACTIVE, COMPLETED, FAILED);
        for (OutgoingPhase end : List.of(COMPLETED, FAILED, CANCELLED)) {
            assertThat(OutgoingPhase.next(end)).as("%s is an end", end).isEmpty();
            assertThat(end.terminal()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(OutgoingPhase.class)
    void aCancelIsPossibleExactlyWhileNothingIsCommitted(OutgoingPhase phase) {
        assertThat(OutgoingPhase.next(phase).contains(CANCELLED)).isEqualTo(!phase.committed() && !phase.terminal());
        // once committed, nothing leads back to a phase that may resume the guest by itself
        if (phase.committed()) {
            assertThat(OutgoingPhase.next(phase)).noneMatch(n -> !n.committed());
        }
    }

    @Test
    void postCopyIsNeverLeftForAPhaseThatCouldResumeTheGuestHereUndecided() {
        Set<OutgoingPhase> reachable = EnumSet.noneOf(OutgoingPhase.class);
        List<OutgoingPhase> frontier = new ArrayList<>(List.of(POSTCOPY_ACTIVE));
        while (!frontier.isEmpty()) {
            OutgoingPhase p = frontier.remove(0);
            for (OutgoingPhase n : OutgoingPhase.next(p)) {
                if (reachable.add(n)) {
                    frontier.add(n);
                }
            }
        }
        assertThat(reachable).containsExactlyInAnyOrder(POSTCOPY_ACTIVE, POSTCOPY_PAUSED, COMPLETED, FAILED);
    }

    @Test
    void theMachineRefusesAMoveOutsideTheTableAndOfTwoRacersOneWins() throws Exception {
        PhaseMachine<OutgoingPhase> machine = new PhaseMachine<>("source", SETUP, OutgoingPhase::next);
        assertThatThrownBy(() -> machine.moveTo(SWITCHOVER)).isInstanceOf(IllegalStateException.class)
                .hasMessage("source cannot move from SETUP to SWITCHOVER");
        machine.moveTo(BULK);
        AtomicInteger winners = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> racers = new ArrayList<>();
        for (OutgoingPhase target : List.of(SWITCHOVER, CANCELLED, SWITCHOVER, CANCELLED)) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                if (machine.moveFrom(BULK, target)) {
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
        assertThat(machine.current()).isIn(SWITCHOVER, CANCELLED);
    }
}
