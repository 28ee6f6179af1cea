package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Records that never say what is not so (issue 11): while guests with disks move back and forth
 * between two hosts (each moved back the moment its job reads terminal), some of them paused,
 * some jobs cancelled, some failed by a dropped connection at a hand-off step, and the control
 * plane killed (-9) while a destination holds right after its activation and started again, a
 * sampler reads guests, their jobs and their disks' ownership over the API and judges every
 * pair it can judge soundly:
 * <ul>
 * <li>a guest never reads {@code incoming}, never {@code migrating-out} without an active job,
 *     and a paused guest never reads {@code running};</li>
 * <li>a job read terminal is no longer the guest's active job in a later read of the guest
 *     (the release is in the terminal transition's transaction);</li>
 * <li>the guest's host is its disk's owner whenever the disk is {@code active} (two reads of the
 *     guest around the ownership read agree on the host and on the disk's generation, so no
 *     hand-off step fell between them);</li>
 * <li>a completed job's guest is on its destination (judged when no ownership step fell between
 *     the reads, so no later job can have moved it);</li>
 * <li>a terminal job's figures are final: a completed job has {@code downtimeMs} and
 *     {@code totalTimeMs} in every terminal read, and no later read shows other figures.</li>
 * </ul>
 * Each mover also checks the records the moment its job first reads terminal: the guest is free,
 * on the destination (completed) or the source (failed, cancelled), in the run state it had, its
 * disk owned where it is; and the immediate move back is accepted, never refused with 409.
 */
class RecordsNeverContradictTest {

    private static final String TOKEN = "records-test-token";
    private static final Duration UP = Duration.ofSeconds(90);
    private static final long MIB = 1L << 20;
    /** Short, so that the control plane's outage below outlasts it, as a slow restart does. */
    private static final int SOURCE_LOST_AFTER_S = 10;
    private static final List<String> TERMINAL = List.of("completed", "failed", "cancelled");

    private final Path dataDir = ApiTestSupport.newDataDir("records");
    private final Path faults = dataDir.resolve("faults");
    private final Path reached = dataDir.resolve("faults.reached");
    private Process serve;
    private int port;
    private ApiClient api;

    private final List<String> violations = new CopyOnWriteArrayList<>();
    /** Figures of each job's first terminal read: totalTimeMs, downtimeMs (either may be null). */
    private final Map<String, List<Long>> finalFigures = new ConcurrentHashMap<>();
    private final Map<String, String> outcomes = new ConcurrentHashMap<>();
    private final AtomicBoolean moving = new AtomicBoolean(true);
    private final AtomicBoolean sampling = new AtomicBoolean(true);
    private final Map<String, AtomicLong> judged = new ConcurrentHashMap<>();

    @AfterEach
    void stop() throws Exception {
        moving.set(false);
        sampling.set(false);
        FerryProcess.stop(serve, dataDir);
    }

    private void start() {
        try {
            serve = FerryProcess.serve(dataDir, port, "--ferry.api.token=" + TOKEN,
                    "--ferry.worker.heartbeat-interval=200ms", "--ferry.worker.heartbeat-timeout=1500ms",
                    "--ferry.worker.handoff-timeout=3s", "--ferry.dispatcher.source-lost-after=" + SOURCE_LOST_AFTER_S + "s",
                    "--ferry.workers.local.memory-capacity=" + (1L << 30),
                    "--ferry.workers.local.java-options=-Xmx128m -Dferry.fault.file=" + faults);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        Process started = serve;
        await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().failFast(() -> !started.isAlive())
                .untilAsserted(() -> assertThat(api.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable"));
    }

    /** One guest and what the test expects of it. */
    private record Subject(String name, String id, String diskId, String runState, boolean cancels) {
    }

    @Test
    void noContradictoryPairIsEverVisible() throws Exception {
        for (int attempt = 1; ; attempt++) {   // another process may take the free port first
            port = FerryProcess.freePort();
            api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
            try {
                start();
                break;
            } catch (RuntimeException e) {
                if (serve.isAlive() || attempt == 3) {
                    throw e;
                }
                FerryProcess.stop(serve, dataDir);
            }
        }
        List<Subject> subjects = new ArrayList<>();
        subjects.add(guest("run-1", "host-a", false, false));
        subjects.add(guest("run-2", "host-b", false, false));
        subjects.add(guest("paused-1", "host-a", true, false));
        subjects.add(guest("paused-2", "host-b", true, false));
        subjects.add(guest("cancels", "host-a", false, true));

        List<Thread> threads = new ArrayList<>();
        for (Subject s : subjects) {
            threads.add(new Thread(() -> guarded("mover " + s.name(), () -> move(s)), "mover-" + s.name()));
        }
        List<Thread> samplers = new ArrayList<>();
        for (Subject s : subjects) {
            samplers.add(new Thread(() -> guarded("sampler " + s.name(), () -> sample(s)), "sampler-" + s.name()));
        }
        threads.forEach(Thread::start);
        samplers.forEach(Thread::start);

        Thread.sleep(3_000);
        // a failure: the data-plane connection dropped after a source inactivated its disks
        injectUntilReached("host-b source-inactivated drop");
        Thread.sleep(2_000);
        // the control plane dies right after a destination's activation, before the source's final report
        injectUntilReached("host-a destination-activated hold:2500");
        serve.destroyForcibly().waitFor();
        // down longer than source-lost-after: the waits for the source's final figures count from the
        // restart, since no control plane could have received them meanwhile
        Thread.sleep((SOURCE_LOST_AFTER_S + 1) * 1000L);
        start();
        Thread.sleep(2_000);
        // a failure (or a completion, whichever the workers settle on) after the hand-off was recorded
        injectUntilReached("host-a handoff-recorded drop");
        Thread.sleep(4_000);

        moving.set(false);
        for (Thread t : threads) {
            t.join(90_000);
        }
        sampling.set(false);
        for (Thread t : samplers) {
            t.join(10_000);
        }

        // no later read shows other figures than the first terminal read did
        for (Map.Entry<String, List<Long>> first : finalFigures.entrySet()) {
            checkFigures(api.get("/api/v1/migrations/" + first.getKey()).json(), "final read");
        }
        System.out.printf("records: %d jobs %s; judged %s%n", outcomes.size(), count(outcomes), judged);
        assertThat(violations).as("contradictory records seen").isEmpty();
        assertThat(outcomes.values()).as("outcomes").contains("completed", "failed", "cancelled");
        assertThat(outcomes.values().stream().filter("completed"::equals).count()).isGreaterThanOrEqualTo(6);
        for (String invariant : List.of("guest-alone", "job-vs-guest", "host-vs-owner", "ended-job-vs-host",
                "terminal-figures")) {
            assertThat(judged.getOrDefault(invariant, new AtomicLong()).get()).as(invariant).isGreaterThanOrEqualTo(10);
        }
    }

    private Subject guest(String name, String host, boolean paused, boolean busy) {
        Map<String, Object> workload = busy
                ? Map.of("dirtyPagesPerSecond", 20000, "hotSetFraction", 0.05, "diskWritesPerSecond", 200,
                        "seed", name.hashCode())
                : Map.of("dirtyPagesPerSecond", 500, "diskWritesPerSecond", 200, "seed", name.hashCode());
        ApiClient.Reply created = api.post("/api/v1/guests", Map.of("name", name, "hostId", host,
                "memoryBytes", (busy ? 32 : 16) * MIB,
                "disks", List.of(Map.of("name", "root", "sizeBytes", 4 * MIB)), "workload", workload));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = created.json().get("id").asString();
        if (paused) {
            ApiClient.Reply pause = api.post("/api/v1/guests/" + id + "/pause", null);
            assertThat(pause.status()).as(pause.body()).isEqualTo(200);
            assertThat(pause.json().get("state").asString()).isEqualTo("paused");
        }
        return new Subject(name, id, created.json().get("disks").get(0).get("id").asString(),
                paused ? "paused" : "running", busy);
    }

    /**
     * Puts one fault rule in place until a worker reaches it, then removes it. The bound is for
     * liveness only: on a loaded machine, right after a control-plane restart, the next job to
     * reach a step can be a minute away.
     */
    private void injectUntilReached(String rule) throws Exception {
        String[] parts = rule.split(" ");
        Files.deleteIfExists(reached);
        Files.writeString(faults, rule + "\n");
        try {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20)).until(() ->
                    Files.exists(reached) && Files.readString(reached).contains(parts[0] + " " + parts[1]));
        } finally {
            Files.deleteIfExists(faults);
        }
    }

    // ---- movers -------------------------------------------------------------------------------

    private void move(Subject s) throws Exception {
        String where = retrying(() -> api.get("/api/v1/guests/" + s.id()).json()).get("hostId").asString();
        for (int n = 0; moving.get(); n++) {
            String to = where.equals("host-a") ? "host-b" : "host-a";
            boolean cancel = s.cancels() && n % 2 == 0;
            Map<String, Object> parameters = cancel ? Map.of("maxBandwidth", MIB, "downtimeLimitMs", 10)
                    : Map.of("maxBandwidth", 0, "downtimeLimitMs", 2000);
            String jobId = create(s, to, parameters);
            if (jobId == null) {
                Thread.sleep(200);
                where = retrying(() -> api.get("/api/v1/guests/" + s.id()).json()).get("hostId").asString();
                continue;
            }
            if (cancel) {
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                        .until(() -> api.get("/api/v1/migrations/" + jobId).json().get("status").asString(),
                                st -> st.equals("active") || TERMINAL.contains(st));
                Thread.sleep(300);
                retrying(() -> api.post("/api/v1/migrations/" + jobId + "/cancel", null));
            }
            JsonNode job = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
                    .ignoreExceptions().until(() -> api.get("/api/v1/migrations/" + jobId).json(),
                            j -> TERMINAL.contains(j.get("status").asString()));
            where = afterJob(s, job, where, to);
        }
    }

    /** A new job for the guest, or null when it was refused for a reason that is not a contradiction. */
    private String create(Subject s, String to, Map<String, Object> parameters) {
        String key = UUID.randomUUID().toString();
        ApiClient.Reply created = retrying(() -> api.post("/api/v1/migrations", Map.of("guestId", s.id(),
                "destinationHostId", to, "parameters", parameters), Map.of("Idempotency-Key", key)));
        if (created.status() == 409) {
            violations.add(s.name() + ": the move after its job ended was refused: " + created.body());
            return null;
        }
        if (created.status() != 202) {
            System.out.printf("records: %s: move to %s refused (%d): %s%n", s.name(), to, created.status(),
                    created.body());
            return null;
        }
        return created.json().get("id").asString();
    }

    /** The first terminal read of a job: the guest's records follow from it at once. Returns where the guest is. */
    private String afterJob(Subject s, JsonNode job, String source, String destination) {
        String jobId = job.get("id").asString();
        String status = job.get("status").asString();
        outcomes.put(jobId, status);
        checkFigures(job, s.name() + " first terminal read");
        JsonNode guest = retrying(() -> api.get("/api/v1/guests/" + s.id()).json());
        JsonNode disk = retrying(() -> api.get("/api/v1/disks/" + s.diskId() + "/ownership").json());
        String state = guest.get("state").asString();
        String host = guest.get("hostId").asString();
        String what = s.name() + " after job " + jobId + " " + status + " (" + job.get("statusReason").asString()
                + "): guest " + state + " on " + host + " with job " + guest.get("activeMigrationId") + ", disk "
                + disk.get("state").asString() + " on " + disk.get("ownerHostId").asString();
        if (!guest.get("activeMigrationId").isNull()) {
            violations.add(what + ": the guest is still held");
        }
        if (!state.equals(s.runState())) {
            violations.add(what + ": not " + s.runState());
        }
        String expected = status.equals("completed") ? destination : source;
        if (!host.equals(expected)) {
            violations.add(what + ": not on " + expected);
        }
        if (disk.get("state").asString().equals("active") && !disk.get("ownerHostId").asString().equals(host)) {
            violations.add(what + ": the disk is another host's");
        }
        return host;
    }

    // ---- sampler ------------------------------------------------------------------------------

    private void sample(Subject s) {
        while (sampling.get()) {
            try {
                sampleOnce(s);
            } catch (IllegalStateException unreachable) {
                // the control plane is down or restarting: nothing to judge
            }
        }
    }

    /**
     * One sample: the guest, its newest job, its disk's ownership, the guest again. Each read is
     * its own transaction, so pairs are judged only where the order makes them meaningful: a job
     * read terminal must have let the guest go in the later read; a job's outcome and the disk's
     * owner are compared with the guest only when both guest reads show the same host and the
     * same disk generation as the ownership read (no hand-off step, hence no later job's
     * switchover, fell between them).
     */
    private void sampleOnce(Subject s) {
        JsonNode g1 = read("/api/v1/guests/" + s.id());
        alone(s, g1);
        JsonNode newest = read("/api/v1/migrations?guestId=" + s.id() + "&size=1").get("items");
        JsonNode job = newest.isEmpty() ? null : newest.get(0);
        JsonNode disk = read("/api/v1/disks/" + s.diskId() + "/ownership");
        JsonNode g2 = read("/api/v1/guests/" + s.id());
        alone(s, g2);
        String what = s.name() + ": guest " + brief(g1) + ", newest job " + (job == null ? null
                : job.get("id").asString() + " " + job.get("status").asString() + " " + job.get("sourceHostId")
                .asString() + "->" + job.get("destinationHostId").asString()) + ", disk " + disk.get("state")
                .asString() + " on " + disk.get("ownerHostId").asString() + " @" + disk.get("generation")
                + ", guest again " + brief(g2);
        String status = job == null ? null : job.get("status").asString();
        boolean terminal = status != null && TERMINAL.contains(status);
        if (terminal) {
            judged("job-vs-guest");
            if (job.get("id").asString().equals(text(g2.get("activeMigrationId")))) {
                violations.add(what + ": the job had ended, yet the guest read after it is still held by it");
            }
            checkFigures(job, s.name() + " sampled");
        }
        long generation = disk.get("generation").asLong();
        boolean steady = g1.get("hostId").asString().equals(g2.get("hostId").asString())
                && generationOf(g1) == generation && generationOf(g2) == generation;
        if (!steady) {
            return;   // a hand-off step fell between the reads: they describe different moments
        }
        if (disk.get("state").asString().equals("active")) {
            judged("host-vs-owner");
            if (!disk.get("ownerHostId").asString().equals(g2.get("hostId").asString())) {
                violations.add(what + ": the guest's host is not its disk's owner");
            }
        }
        if (terminal) {
            judged("ended-job-vs-host");
            String expected = status.equals("completed") ? job.get("destinationHostId").asString()
                    : job.get("sourceHostId").asString();
            if (!g2.get("hostId").asString().equals(expected)) {
                violations.add(what + ": the job " + status + ", the guest is not on " + expected);
            }
            if (g2.get("activeMigrationId").isNull() && !g2.get("state").asString().equals(s.runState())) {
                violations.add(what + ": the job " + status + " and let the guest go, which is not "
                        + s.runState());
            }
        }
    }

    /** What one read of a guest must never say. */
    private void alone(Subject s, JsonNode g) {
        judged("guest-alone");
        String state = g.get("state").asString();
        if (state.equals("incoming")) {
            violations.add(s.name() + " reads incoming: " + brief(g));
        }
        if (state.equals("migrating-out") && g.get("activeMigrationId").isNull()) {
            violations.add(s.name() + " reads migrating-out without a job: " + brief(g));
        }
        if (s.runState().equals("paused") && state.equals("running")) {
            violations.add(s.name() + " was paused, yet reads running: " + brief(g));
        }
        if (state.equals("lost")) {
            violations.add(s.name() + " reads lost, though no worker died: " + brief(g));
        }
    }

    /** A terminal job's figures: complete when it completed, and the same in every read. */
    private void checkFigures(JsonNode job, String where) {
        String jobId = job.get("id").asString();
        String status = job.get("status").asString();
        if (!TERMINAL.contains(status)) {
            return;
        }
        judged("terminal-figures");
        JsonNode p = job.get("progress");
        Long total = p == null || p.isNull() || p.get("totalTimeMs").isNull() ? null : p.get("totalTimeMs").asLong();
        Long downtime = p == null || p.isNull() || p.get("downtimeMs") == null || p.get("downtimeMs").isNull() ? null
                : p.get("downtimeMs").asLong();
        // The one completion the source cannot time: it learned from the ownership records that the
        // destination activated after it had lost the destination's confirmation (a worker-side gap).
        String reason = text(job.get("statusReason"));
        boolean untimed = reason != null && reason.startsWith("the destination activated the disks");
        if (status.equals("completed") && (total == null || downtime == null && !untimed)) {
            violations.add(where + ": job " + jobId + " reads completed without its final figures: " + p);
        }
        List<Long> figures = java.util.Arrays.asList(total, downtime);
        List<Long> first = finalFigures.putIfAbsent(jobId, figures);
        if (first != null && !first.equals(figures)) {
            violations.add(where + ": job " + jobId + " (" + status + ") read totalTimeMs, downtimeMs " + first
                    + " when first terminal, now " + figures);
        }
    }

    /** A read the sampler can judge; anything else (the control plane restarting) is skipped. */
    private JsonNode read(String path) {
        ApiClient.Reply reply = api.get(path);
        if (reply.status() != 200 || reply.json() == null) {
            throw new IllegalStateException("GET " + path + ": " + reply.status());
        }
        return reply.json();
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asString();
    }

    private static long generationOf(JsonNode guest) {
        return guest.get("disks").get(0).get("ownership").get("generation").asLong();
    }

    private static String brief(JsonNode g) {
        return g.get("state").asString() + " on " + g.get("hostId").asString() + " (job "
                + text(g.get("activeMigrationId")) + ", disk @" + generationOf(g) + ")";
    }

    private void judged(String invariant) {
        judged.computeIfAbsent(invariant, k -> new AtomicLong()).incrementAndGet();
    }

    private static Map<String, Long> count(Map<String, String> outcomes) {
        Map<String, Long> counts = new java.util.TreeMap<>();
        outcomes.values().forEach(o -> counts.merge(o, 1L, Long::sum));
        return counts;
    }

    /** Retries a request while the control plane is down (a restart takes up to UP). */
    private static <T> T retrying(java.util.concurrent.Callable<T> request) {
        return await().atMost(UP).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(request, Objects::nonNull);
    }

    private interface Body {
        void run() throws Exception;
    }

    private void guarded(String who, Body body) {
        try {
            body.run();
        } catch (Throwable e) {
            violations.add(who + " stopped: " + e);
        }
    }
}
