package io.ferry.control.admission;

import io.ferry.control.job.JobPriority;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Which queued jobs may start now: a pure function of the limits, what runs, the hosts' room
 * and the queue. Jobs are taken by priority (system, user, maintenance), and within a priority
 * from the source host with the fewest jobs running, oldest first — so one host's evacuation
 * cannot take every cluster slot while other hosts' jobs wait. A job that a host-specific limit
 * holds back does not hold back jobs that do not need that host (no head-of-line blocking);
 * a job waiting for a destination's memory keeps the later jobs of its priority or lower from
 * taking that memory (FIFO), so a large guest is not starved by small ones.
 */
public final class FairQueue {

    private FairQueue() {
    }

    /** A job in the queue. */
    public record Queued(UUID id, JobPriority priority, Instant createdAt, String source, String destination,
                         long memoryBytes) {
    }

    /** A job holding slots: it runs from source to destination, and reserves memory there until the guest moved. */
    public record Running(String source, String destination, long reservedBytes) {
    }

    /** What a host offers now. {@code allocatedBytes} counts the guests recorded on it. */
    public record HostRoom(boolean reachable, boolean cordoned, long capacityBytes, long allocatedBytes) {
    }

    /** The verdict for one queued job: admit, or wait for the named limit ({@code limitKey} identifies it without counts). */
    public record Decision(UUID jobId, boolean admit, String limitKey, String reason) {

        static Decision admit(UUID id) {
            return new Decision(id, true, null, null);
        }

        static Decision waitFor(UUID id, String key, String reason) {
            return new Decision(id, false, key, reason);
        }
    }

    /** Decisions in the order the jobs would start (admitted ones first, in admission order). */
    public static List<Decision> decide(Limits limits, List<Running> running, Map<String, HostRoom> hosts,
                                        List<Queued> queue) {
        Usage usage = new Usage(running);
        Map<UUID, Decision> decided = new LinkedHashMap<>();
        Set<String> memoryWaits = new HashSet<>();
        List<Queued> pending = new ArrayList<>(queue);
        pending.sort(Comparator.comparing(Queued::priority).thenComparing(Queued::createdAt));
        while (!pending.isEmpty()) {
            JobPriority level = pending.get(0).priority();
            // within the level: the source with the fewest running jobs first, then the oldest job
            Queued next = pending.stream().filter(q -> q.priority() == level)
                    .min(Comparator.comparingInt((Queued q) -> usage.outbound(q.source()))
                            .thenComparing(Queued::createdAt))
                    .orElseThrow();
            pending.remove(next);
            Decision d = check(next, limits, usage, hosts, memoryWaits);
            if (d.admit()) {
                usage.add(next);
            } else if (d.limitKey().startsWith("memory:")) {
                memoryWaits.add(d.limitKey());
            }
            decided.put(next.id(), d);
        }
        List<Decision> ordered = new ArrayList<>(decided.values().stream().filter(Decision::admit).toList());
        ordered.addAll(decided.values().stream().filter(d -> !d.admit()).toList());
        return ordered;
    }

    private static Decision check(Queued q, Limits limits, Usage usage, Map<String, HostRoom> hosts,
                                  Set<String> memoryWaits) {
        HostRoom source = hosts.get(q.source());
        HostRoom destination = hosts.get(q.destination());
        if (source == null || !source.reachable()) {
            return Decision.waitFor(q.id(), "source:" + q.source(), "source host " + q.source() + " is unreachable");
        }
        if (destination == null || !destination.reachable()) {
            return Decision.waitFor(q.id(), "destination:" + q.destination(),
                    "destination host " + q.destination() + " is unreachable");
        }
        if (destination.cordoned()) {
            return Decision.waitFor(q.id(), "destination:" + q.destination(),
                    "destination host " + q.destination() + " is cordoned");
        }
        if (usage.total >= limits.maxJobs()) {
            return Decision.waitFor(q.id(), "cluster", "cluster limit: " + usage.total + " of " + limits.maxJobs()
                    + " jobs running");
        }
        int out = usage.outbound(q.source());
        int maxOut = limits.outboundOf(q.source());
        if (out >= maxOut) {
            return Decision.waitFor(q.id(), "outbound:" + q.source(), "outbound limit of " + q.source() + ": " + out
                    + " of " + maxOut);
        }
        int in = usage.inbound(q.destination());
        int maxIn = limits.inboundOf(q.destination());
        if (in >= maxIn) {
            return Decision.waitFor(q.id(), "inbound:" + q.destination(), "inbound limit of " + q.destination() + ": "
                    + in + " of " + maxIn);
        }
        String memoryKey = "memory:" + q.destination();
        long incoming = usage.reserved(q.destination());
        long free = destination.capacityBytes() - destination.allocatedBytes() - incoming;
        if (q.memoryBytes() > free || memoryWaits.contains(memoryKey)) {
            String why = q.memoryBytes() > free ? "" : "; an earlier job waits for it";
            return Decision.waitFor(q.id(), memoryKey, "memory of " + q.destination() + ": " + q.memoryBytes()
                    + " bytes needed, " + Math.max(0, free) + " free (capacity " + destination.capacityBytes()
                    + ", guests " + destination.allocatedBytes() + ", incoming " + incoming + ")" + why);
        }
        return Decision.admit(q.id());
    }

    /** Slots and memory in use, growing as the pass admits jobs. */
    private static final class Usage {
        int total;
        final Map<String, Integer> out = new HashMap<>();
        final Map<String, Integer> in = new HashMap<>();
        final Map<String, Long> reserved = new HashMap<>();

        Usage(List<Running> running) {
            for (Running r : running) {
                take(r.source(), r.destination(), r.reservedBytes());
            }
        }

        void add(Queued q) {
            take(q.source(), q.destination(), q.memoryBytes());
        }

        private void take(String source, String destination, long bytes) {
            total++;
            out.merge(source, 1, Integer::sum);
            in.merge(destination, 1, Integer::sum);
            reserved.merge(destination, bytes, Long::sum);
        }

        int outbound(String host) {
            return out.getOrDefault(host, 0);
        }

        int inbound(String host) {
            return in.getOrDefault(host, 0);
        }

        long reserved(String host) {
            return reserved.getOrDefault(host, 0L);
        }
    }
}
