package io.ferry.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;

/**
 * Part 2 of {@code bench-control}: a replica's jobs taken over after kill -9. Two replicas on a
 * fresh schema, as the Helm chart runs them: A launches the local workers (which report to B when
 * A is gone), B only serves. Guests on four hosts, each moved by a job that a 1 MiB/s link and a
 * busy workload hold in {@code active}, all created through A so that A drives them; then kill -9
 * of A, and B is polled every 50 ms until it drives every job. Then the jobs' limits are lifted and
 * each must complete, none having failed on the way.
 */
final class TakeoverBench {

    private static final long MIB = 1L << 20;
    private static final List<String> HOSTS = JobSeeder.HOSTS;
    private static final Set<String> TERMINAL = Set.of("completed", "failed", "cancelled");

    /** What was measured; times in seconds from the kill. */
    record Result(int jobs, int drivenByA, Duration leaseTtl, double allTakenOverS, Quantiles perJobS,
                  int failedOrCancelled, int completed, double completedAfterReleaseS, int stillActiveAtTakeover) {
    }

    private final PostgresSchema schema;
    private final int jobCount;
    private final long guestBytes;
    private final Duration leaseTtl;
    private final boolean keep;

    TakeoverBench(PostgresSchema schema, int jobCount, long guestBytes, Duration leaseTtl, boolean keep) {
        this.schema = schema;
        this.jobCount = jobCount;
        this.guestBytes = guestBytes;
        this.leaseTtl = leaseTtl;
        this.keep = keep;
    }

    Result run() throws Exception {
        int portA = LocalControlPlane.freePort();
        int portB = LocalControlPlane.freePort();
        String token = LocalControlPlane.newToken();
        List<String> common = new ArrayList<>(schema.serveOptions());
        common.addAll(List.of("--ferry.worker.token=" + LocalControlPlane.newToken(),
                "--ferry.leases.ttl=" + leaseTtl.toMillis() + "ms"));
        List<String> a = new ArrayList<>(common);
        a.add("--ferry.replica.name=replica-a");
        // room for every guest and the copy coming in on each host
        a.addAll(LocalControlPlane.localWorkers(HOSTS, 2 * jobCount * guestBytes + (256 * MIB)));
        a.add("--ferry.workers.local.other-replicas=http://127.0.0.1:" + portB);
        List<String> b = new ArrayList<>(common);
        b.addAll(List.of("--ferry.replica.name=replica-b", "--ferry.workers.launch=external"));
        try (LocalControlPlane replicaA = LocalControlPlane.start("replica-a", portA, token, a, HOSTS.size(), keep,
                ControlBenchmark::progress);
             LocalControlPlane replicaB = LocalControlPlane.start("replica-b", portB, token, b, HOSTS.size(), keep,
                     ControlBenchmark::progress)) {
            return measure(replicaA, replicaB);
        }
    }

    private Result measure(LocalControlPlane a, LocalControlPlane b) throws Exception {
        a.put("/api/v1/admission/limits", Map.of("maxJobs", jobCount, "maxOutboundPerHost", jobCount,
                "maxInboundPerHost", jobCount));
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < jobCount; i++) {
            String host = HOSTS.get(i % HOSTS.size());
            String guest = a.createGuest(Map.of("name", "takeover-" + i, "hostId", host, "memoryBytes", guestBytes,
                    "disks", List.of(Map.of("name", "root", "sizeBytes", 4 * MIB)),
                    "workload", Map.of("dirtyPagesPerSecond", 20000, "hotSetFraction", 0.05, "seed", i)));
            jobs.add(a.send("POST", "/api/v1/migrations", Map.of("guestId", guest,
                    "destinationHostId", HOSTS.get((i + 1) % HOSTS.size()),
                    "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 10))).expect(202).json()
                    .get("id").asString());
        }
        ControlBenchmark.progress("%d guests of %d MiB and their jobs created through replica-a", jobCount,
                guestBytes / MIB);
        Map<String, JsonNode> before = awaitAll(b, jobs, j -> j.get("status").asString().equals("active")
                && !driver(j).isEmpty(), Duration.ofSeconds(120));
        Set<String> fromA = new LinkedHashSet<>();
        before.forEach((id, j) -> {
            if (driver(j).equals("replica-a")) {
                fromA.add(id);
            }
        });
        ControlBenchmark.progress("%d of %d jobs active and driven by replica-a; kill -9 replica-a", fromA.size(),
                jobCount);

        long killed = System.nanoTime();
        a.kill();
        Map<String, Double> takenAt = new HashMap<>();
        Set<String> failed = new LinkedHashSet<>();
        long deadline = killed + Math.max(60_000, 6 * leaseTtl.toMillis()) * 1_000_000L;
        while (takenAt.size() < fromA.size() && System.nanoTime() < deadline) {
            for (JsonNode j : list(b, jobs).values()) {
                String id = j.get("id").asString();
                if (fromA.contains(id) && !takenAt.containsKey(id) && driver(j).equals("replica-b")) {
                    takenAt.put(id, (System.nanoTime() - killed) / 1e9);
                }
                if (Set.of("failed", "cancelled", "cancelling").contains(j.get("status").asString())) {
                    failed.add(id);
                }
            }
            Thread.sleep(50);
        }
        double all = takenAt.size() == fromA.size() ? takenAt.values().stream().mapToDouble(d -> d).max().orElse(0)
                : Double.NaN;
        int stillActive = (int) list(b, jobs).values().stream()
                .filter(j -> j.get("status").asString().equals("active")).count();
        ControlBenchmark.progress("replica-b drives %d of the %d jobs replica-a drove, %.2f s after the kill; %d active",
                takenAt.size(), fromA.size(), all, stillActive);

        long released = System.nanoTime();
        for (String job : jobs) {
            b.patch("/api/v1/migrations/" + job, Map.of("maxBandwidth", 0, "downtimeLimitMs", 2000));
        }
        Map<String, JsonNode> end = awaitAll(b, jobs, j -> TERMINAL.contains(j.get("status").asString()),
                Duration.ofSeconds(180));
        double completedS = (System.nanoTime() - released) / 1e9;
        int completed = 0;
        for (JsonNode j : end.values()) {
            if (j.get("status").asString().equals("completed")) {
                completed++;
            }
        }
        for (String job : jobs) {   // a failure on the way shows in the timeline even when the job ended well
            for (JsonNode e : b.get("/api/v1/migrations/" + job + "/events")) {
                if (e.path("kind").asString("").equals("transition")
                        && Set.of("failed", "cancelled", "cancelling").contains(e.path("to").asString(""))) {
                    failed.add(job);
                }
            }
        }
        ControlBenchmark.progress("%d of %d jobs completed %.1f s after their limits were lifted", completed, jobCount,
                completedS);
        long[] perJob = takenAt.values().stream().mapToLong(s -> Math.round(s * 1000)).toArray();
        return new Result(jobCount, fromA.size(), leaseTtl, all, Quantiles.of(perJob, 1000), failed.size(), completed,
                completedS, stillActive);
    }

    private static String driver(JsonNode job) {
        return job.path("driver").path("replica").asString("");
    }

    /** The jobs as the list shows them (one request; the schema holds only these). */
    private static Map<String, JsonNode> list(LocalControlPlane plane, List<String> jobs) {
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        for (JsonNode j : plane.get("/api/v1/migrations?size=" + Math.max(jobs.size(), 20)).get("items")) {
            byId.put(j.get("id").asString(), j);
        }
        return byId;
    }

    /** Polls until every job matches, or (past {@code within}) returns what there is. */
    private static Map<String, JsonNode> awaitAll(LocalControlPlane plane, List<String> jobs,
                                                  Predicate<JsonNode> done, Duration within)
            throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            Map<String, JsonNode> now = list(plane, jobs);
            long matching = now.values().stream().filter(done).count();
            if (matching == jobs.size() || System.nanoTime() > deadline) {
                if (matching < jobs.size()) {
                    ControlBenchmark.progress("only %d of %d jobs got there within %s", matching, jobs.size(), within);
                }
                return now;
            }
            Thread.sleep(200);
        }
    }

    static void print(Result r) {
        System.out.printf("%nreplica takeover: kill -9 of replica-a while it drives %d active jobs; replica-b polled "
                + "every 50 ms; one cold run (the first, slow to repeat); s%n%n", r.jobs());
        System.out.println("| measure | value | baseline |");
        System.out.println("|---|---:|---:|");
        System.out.printf(Locale.ROOT, "| jobs driven by replica-a before the kill | %d of %d | - |%n",
                r.drivenByA(), r.jobs());
        System.out.printf(Locale.ROOT, "| every job driven by replica-b, after the kill | %.2f | lease ttl %.2f |%n",
                r.allTakenOverS(), r.leaseTtl().toMillis() / 1000.0);
        System.out.printf(Locale.ROOT, "| per job: p50 / p99 / max (%d jobs) | %.2f / %.2f / %.2f | - |%n",
                r.perJobS().count(), r.perJobS().p50(), r.perJobS().p99(), r.perJobS().max());
        System.out.printf(Locale.ROOT, "| jobs still active after the takeover | %d of %d | - |%n",
                r.stillActiveAtTakeover(), r.jobs());
        System.out.printf(Locale.ROOT, "| jobs failed or cancelled at any point | %d | 0 |%n",
                r.failedOrCancelled());
        System.out.printf(Locale.ROOT, "| completed once limits were lifted (maxBandwidth 0, downtime 2 s) "
                + "| %d of %d in %.1f s | - |%n", r.completed(), r.jobs(), r.completedAfterReleaseS());
    }
}
