package io.ferry.control.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.control.admission.FairQueue.Decision;
import io.ferry.control.admission.FairQueue.HostRoom;
import io.ferry.control.admission.FairQueue.Queued;
import io.ferry.control.admission.FairQueue.Running;
import io.ferry.control.job.JobPriority;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The admission decision, case by case: limits, memory, priorities, fairness across sources. */
class FairQueueTest {

    private static final long GIB = 1L << 30;
    private static final Limits DEFAULTS = new Limits(5, 2, 2, Map.of());
    private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

    private final Map<String, HostRoom> hosts = new HashMap<>();
    private final List<Queued> queue = new ArrayList<>();
    private final List<Running> running = new ArrayList<>();

    FairQueueTest() {
        for (String h : List.of("a", "b", "c", "d", "e", "f")) {
            hosts.put(h, new HostRoom(true, false, 64 * GIB, 0));
        }
    }

    private UUID queue(String from, String to) {
        return queue(from, to, JobPriority.USER, GIB);
    }

    private UUID queue(String from, String to, JobPriority priority, long memory) {
        UUID id = UUID.randomUUID();
        queue.add(new Queued(id, priority, T0.plusSeconds(queue.size()), from, to, memory));
        return id;
    }

    private List<Decision> decide(Limits limits) {
        return FairQueue.decide(limits, running, hosts, queue);
    }

    private static List<UUID> admitted(List<Decision> decisions) {
        return decisions.stream().filter(Decision::admit).map(Decision::jobId).toList();
    }

    private static Decision of(List<Decision> decisions, UUID id) {
        return decisions.stream().filter(d -> d.jobId().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void aDrainOfOneHostStartsTwoMovesOutAndTheRestWaitForTheOutboundLimit() {
        List<UUID> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(queue("a", List.of("b", "c", "d").get(i % 3)));
        }
        List<Decision> d = decide(DEFAULTS);
        assertThat(admitted(d)).containsExactly(jobs.get(0), jobs.get(1));
        assertThat(of(d, jobs.get(2)).reason()).isEqualTo("outbound limit of a: 2 of 2");
        assertThat(of(d, jobs.get(2)).limitKey()).isEqualTo("outbound:a");
    }

    @Test
    void inboundAndClusterLimitsHold() {
        UUID first = queue("a", "f");
        UUID second = queue("b", "f");
        UUID third = queue("c", "f");
        List<Decision> d = decide(DEFAULTS);
        assertThat(admitted(d)).containsExactly(first, second);
        assertThat(of(d, third).reason()).isEqualTo("inbound limit of f: 2 of 2");

        queue.clear();
        running.add(new Running("a", "b", GIB));
        running.add(new Running("c", "d", GIB));
        running.add(new Running("e", "f", GIB));
        running.add(new Running("b", "a", GIB));
        UUID fits = queue("d", "c");
        UUID over = queue("f", "e");
        d = decide(DEFAULTS);
        assertThat(admitted(d)).containsExactly(fits);
        assertThat(of(d, over).reason()).isEqualTo("cluster limit: 5 of 5 jobs running");
    }

    @Test
    void perHostOverridesWinOverTheClusterWideValues() {
        Limits limits = new Limits(10, 2, 2, Map.of("a", new Limits.HostLimits(3, null)));
        List<UUID> jobs = List.of(queue("a", "b"), queue("a", "c"), queue("a", "d"), queue("a", "e"));
        assertThat(admitted(decide(limits))).containsExactly(jobs.get(0), jobs.get(1), jobs.get(2));
    }

    @Test
    void theDestinationMustHoldTheGuestCountingGuestsAlreadyComingIn() {
        hosts.put("b", new HostRoom(true, false, 8 * GIB, 3 * GIB));
        running.add(new Running("c", "b", 2 * GIB));
        UUID big = queue("a", "b", JobPriority.USER, 4 * GIB);
        UUID small = queue("d", "b", JobPriority.USER, GIB);
        List<Decision> d = decide(new Limits(10, 5, 5, Map.of()));
        assertThat(of(d, big).reason()).isEqualTo("memory of b: 4294967296 bytes needed, 3221225472 free "
                + "(capacity 8589934592, guests 3221225472, incoming 2147483648)");
        // the smaller one would fit, but the earlier, larger one waits for that memory: first come, first served
        assertThat(of(d, small).admit()).isFalse();
        assertThat(of(d, small).limitKey()).isEqualTo("memory:b");
    }

    @Test
    void higherPrioritiesGoFirstAndFifoHoldsWithinAPriority() {
        UUID maintenance = queue("a", "b", JobPriority.MAINTENANCE, GIB);
        UUID userOld = queue("c", "d", JobPriority.USER, GIB);
        UUID userNew = queue("e", "f", JobPriority.USER, GIB);
        UUID system = queue("b", "c", JobPriority.SYSTEM, GIB);
        List<Decision> d = decide(new Limits(3, 2, 2, Map.of()));
        assertThat(admitted(d)).containsExactly(system, userOld, userNew);
        assertThat(of(d, maintenance).reason()).isEqualTo("cluster limit: 3 of 3 jobs running");
    }

    @Test
    void oneEvacuatingHostDoesNotTakeEverySlotWhileOtherHostsWait() {
        Limits generousForA = new Limits(4, 2, 10, Map.of("a", new Limits.HostLimits(10, null)));
        List<UUID> evacuation = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            evacuation.add(queue("a", "b"));
        }
        UUID fromC = queue("c", "d");
        UUID fromE = queue("e", "d");
        List<UUID> started = admitted(decide(generousForA));
        assertThat(started).hasSize(4).contains(fromC, fromE);
        assertThat(started.stream().filter(evacuation::contains)).hasSize(2);
    }

    @Test
    void aJobBlockedByItsOwnHostDoesNotBlockJobsElsewhere() {
        running.add(new Running("a", "x", 0));
        running.add(new Running("a", "y", 0));
        UUID blocked = queue("a", "b");
        UUID free = queue("c", "d");
        List<Decision> d = decide(DEFAULTS);
        assertThat(admitted(d)).containsExactly(free);
        assertThat(of(d, blocked).reason()).isEqualTo("outbound limit of a: 2 of 2");
    }

    @Test
    void unreachableOrCordonedHostsHoldTheirJobsBack() {
        hosts.put("b", new HostRoom(true, true, 64 * GIB, 0));
        hosts.put("c", new HostRoom(false, false, 64 * GIB, 0));
        UUID toCordoned = queue("a", "b");
        UUID fromUnreachable = queue("c", "d");
        UUID toUnknown = queue("a", "z");
        List<Decision> d = decide(DEFAULTS);
        assertThat(admitted(d)).isEmpty();
        assertThat(of(d, toCordoned).reason()).isEqualTo("destination host b is cordoned");
        assertThat(of(d, fromUnreachable).reason()).isEqualTo("source host c is unreachable");
        assertThat(of(d, toUnknown).reason()).isEqualTo("destination host z is unreachable");
    }

    @Test
    void everyJobTheLimitsAllowIsAdmittedInOnePass() {
        for (int i = 0; i < 16; i++) {
            queue(List.of("a", "b", "c", "d", "e", "f").get(i % 6), List.of("b", "c", "d", "e", "f", "a").get(i % 6));
        }
        assertThat(admitted(decide(new Limits(20, 3, 3, Map.of())))).hasSize(16);
    }
}
