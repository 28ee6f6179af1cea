package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * The fleet around single moves, on four local workers: admission limits that are never
 * exceeded, policies with timeouts and escalation, host drains, pre-flight. Every scenario
 * ends with its hosts uncordoned, its policies deleted and default limits, so they share one
 * control plane.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetEndToEndTest extends ApiTestSupport {

    private static final Set<String> RUNNING = Set.of("setup", "active", "postcopy-active", "postcopy-paused",
            "cancelling");
    private static Path dataDir;

    @DynamicPropertySource
    static void fourHosts(DynamicPropertyRegistry registry) {
        dataDir = newDataDir("fleet");
        registry.add("ferry.data-dir", dataDir::toString);
        registry.add("ferry.workers.local.hosts", () -> "host-a,host-b,host-c,host-d");
        registry.add("ferry.policy.escalation-grace", () -> "10s");
        registry.add("ferry.workers.local.java-options",
                () -> "-Xmx128m -Dferry.fault.file=" + dataDir.resolve("faults"));
        TestDatabase.H2.register(registry, dataDir.toString());
    }

    @Override
    int hostCount() {
        return 4;
    }

    @AfterEach
    void cleanUp() {
        for (String host : List.of("host-a", "host-b", "host-c", "host-d")) {
            if (api.get("/api/v1/hosts/" + host).json().get("cordoned").asBoolean()) {
                api.delete("/api/v1/hosts/" + host + "/drain");
            }
            api.put("/api/v1/hosts/" + host + "/labels", Map.of("labels", Map.of()));
        }
        for (JsonNode p : api.get("/api/v1/policies").json()) {
            api.delete("/api/v1/policies/" + p.get("name").asString());
        }
        api.put("/api/v1/admission/limits", Map.of());
        // a scenario that failed half-way must not leave guests for the next one (e.g. on a host it drains)
        for (JsonNode g : api.get("/api/v1/guests").json()) {
            String id = g.get("id").asString();
            if (!g.get("activeMigrationId").isNull()) {
                api.post("/api/v1/migrations/" + g.get("activeMigrationId").asString() + "/cancel", null);
                await().atMost(Duration.ofSeconds(60)).until(() -> api.get("/api/v1/guests/" + id).json()
                        .get("activeMigrationId").isNull());
            }
            api.delete("/api/v1/guests/" + id);
        }
    }

    private String guest(String host, long memory, int dirtyPagesPerSecond, Map<String, String> labels) {
        return guest(host, memory, dirtyPagesPerSecond, 0.5, labels);
    }

    private String guest(String host, long memory, int dirtyPagesPerSecond, double hotSet,
                         Map<String, String> labels) {
        Map<String, Object> body = guestRequest(host, memory);
        body.put("disks", List.of(Map.of("name", "root", "sizeBytes", MIB)));
        body.put("workload", Map.of("dirtyPagesPerSecond", dirtyPagesPerSecond, "hotSetFraction", hotSet,
                "diskWritesPerSecond", 5, "seed", 7));
        body.put("labels", labels);
        ApiClient.Reply created = api.post("/api/v1/guests", body);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    /** The jobs of the host's latest drain. */
    private List<JsonNode> drainJobs(String hostId) {
        String drainId = api.get("/api/v1/hosts/" + hostId).json().get("drain").get("id").asString();
        List<JsonNode> jobs = new ArrayList<>();
        api.get("/api/v1/migrations?size=200&hostId=" + hostId).json().get("items").forEach(j -> {
            if (drainId.equals(j.get("drainId").asString())) {
                jobs.add(j);
            }
        });
        return jobs;
    }

    private List<JsonNode> jobsOfGuest(String guestId) {
        List<JsonNode> jobs = new ArrayList<>();
        api.get("/api/v1/migrations?size=200&guestId=" + guestId).json().get("items").forEach(jobs::add);
        return jobs;
    }

    // ---- drains and admission limits ---------------------------------------------------------

    @Test
    @Order(1)
    void aDrainOfTwentyBusyGuestsMovesThemAllByteExactWithoutEverExceedingALimit() throws Exception {
        // every move compares both sides' digests of memory, device state and disks at switchover
        assertThat(api.post("/api/v1/policies", Map.of("name", "verify-all", "verifyChecksums", true)).status())
                .isEqualTo(201);
        List<String> guests = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            guests.add(guest("host-a", 16 * MIB, 1000, Map.of()));
        }
        AtomicBoolean sampling = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        AtomicInteger samples = new AtomicInteger();
        AtomicInteger mostRunning = new AtomicInteger();
        ApiClient sampler = new ApiClient("http://127.0.0.1:" + port, API_TOKEN);
        Thread thread = new Thread(() -> {
            while (sampling.get()) {
                JsonNode page = sampler.get("/api/v1/migrations?size=200").json();
                Map<String, Integer> out = new HashMap<>();
                Map<String, Integer> in = new HashMap<>();
                int running = 0;
                for (JsonNode j : page.get("items")) {
                    if (RUNNING.contains(j.get("status").asString())) {
                        running++;
                        out.merge(j.get("sourceHostId").asString(), 1, Integer::sum);
                        in.merge(j.get("destinationHostId").asString(), 1, Integer::sum);
                    }
                }
                mostRunning.accumulateAndGet(running, Math::max);
                if (running > 5 || out.values().stream().anyMatch(n -> n > 2) || in.values().stream()
                        .anyMatch(n -> n > 2)) {
                    violations.add("running " + running + ", out " + out + ", in " + in);
                }
                samples.incrementAndGet();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "limit-sampler");
        thread.start();
        try {
            ApiClient.Reply drain = api.post("/api/v1/hosts/host-a/drain", null);
            assertThat(drain.status()).as(drain.body()).isEqualTo(202);
            assertThat(drain.json().get("cordoned").asBoolean()).isTrue();
            assertThat(api.post("/api/v1/hosts/host-a/drain", null).status()).as("one drain at a time").isEqualTo(409);
            await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                    assertThat(api.get("/api/v1/hosts/host-a").json().get("drain").get("state").asString())
                            .isEqualTo("completed"));
        } finally {
            sampling.set(false);
            thread.join();
        }
        assertThat(violations).as("limit exceeded in %d samples", samples.get()).isEmpty();
        assertThat(samples.get()).isGreaterThan(10);
        assertThat(mostRunning.get()).as("moves were seen running").isPositive();

        JsonNode drain = api.get("/api/v1/hosts/host-a").json().get("drain");
        assertThat(drain.get("guestsLeft").asInt()).isZero();
        assertThat(drain.get("unplaceable")).isEmpty();
        assertThat(drain.get("failed")).isEmpty();
        for (String g : guests) {
            JsonNode guest = api.get("/api/v1/guests/" + g).json();
            assertThat(guest.get("hostId").asString()).isIn("host-b", "host-c", "host-d");
            assertThat(guest.get("state").asString()).isEqualTo("running");
        }
        List<JsonNode> jobs = drainJobs("host-a");
        assertThat(jobs).hasSize(20).allSatisfy(job -> {
            assertThat(job.get("status").asString()).isEqualTo("completed");
            assertThat(job.get("priority").asString()).isEqualTo("maintenance");
            assertThat(job.get("policy").get("name").asString()).isEqualTo("verify-all");
            JsonNode v = job.get("progress").get("verification");
            assertThat(v.get("destinationMemory").asString()).isEqualTo(v.get("sourceMemory").asString());
            assertThat(v.get("destinationDeviceState").asString()).isEqualTo(v.get("sourceDeviceState").asString());
            assertThat(v.get("destinationDisks")).isEqualTo(v.get("sourceDisks"));
            // why it waited (or that it did not) is on its timeline
            List<String> reasons = new ArrayList<>();
            api.get("/api/v1/migrations/" + job.get("id").asString() + "/events").json().forEach(e ->
                    reasons.add(e.get("kind").asString() + ": " + e.get("reason").asString()));
            assertThat(reasons).anySatisfy(r -> assertThat(r).matches(
                    "waiting: waiting for (outbound limit of host-a|inbound limit of host-[bcd]|cluster limit).*"
                            + "|transition: admitted at once"));
        });
        assertThat(jobs.stream().filter(j -> j.get("destinationHostId").asString().equals("host-b")).count())
                .as("placement spreads the guests").isBetween(3L, 14L);
        // the queue is visible to Prometheus: length and wait per priority
        String metrics = api.withToken(null).get("/actuator/prometheus").body();
        assertThat(metrics).containsPattern("ferry_queue_length\\{[^}]*priority=\"maintenance\"[^}]*} 0.0")
                .containsPattern("ferry_queue_wait_seconds_count\\{[^}]*priority=\"maintenance\"[^}]*} 20");
        // guests that moved can be deleted (their memory is freed on the other hosts for later scenarios)
        guests.forEach(g -> assertThat(api.delete("/api/v1/guests/" + g).status()).isEqualTo(204));
    }

    @Test
    @Order(2)
    void aGuestNoHostCanTakeIsReportedWithItsCauseAndTheOthersMove() {
        assertThat(api.post("/api/v1/policies", Map.of("name", "needs-ssd", "guestSelector", Map.of("disk", "ssd"),
                "destinationSelector", Map.of("ssd", "true"))).status()).isEqualTo(201);
        String pinned = guest("host-b", 16 * MIB, 200, Map.of("disk", "ssd"));
        List<String> others = List.of(guest("host-b", 16 * MIB, 200, Map.of()), guest("host-b", 16 * MIB, 200,
                Map.of()));
        assertThat(api.post("/api/v1/hosts/host-b/drain", Map.of("maxAttempts", 2)).status()).isEqualTo(202);
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                assertThat(api.get("/api/v1/hosts/host-b").json().get("drain").get("state").asString())
                        .isEqualTo("completed"));
        JsonNode drain = api.get("/api/v1/hosts/host-b").json().get("drain");
        assertThat(drain.get("unplaceable")).hasSize(1);
        JsonNode stuck = drain.get("unplaceable").get(0);
        assertThat(stuck.get("guestId").asString()).isEqualTo(pinned);
        assertThat(stuck.get("cause").asString()).contains("host-a").contains("host-c").contains("host-d")
                .contains("{ssd=true}").contains("needs-ssd");
        assertThat(api.get("/api/v1/guests/" + pinned).json().get("hostId").asString()).isEqualTo("host-b");
        for (String g : others) {
            assertThat(api.get("/api/v1/guests/" + g).json().get("hostId").asString()).isNotEqualTo("host-b");
        }
        // a cordoned host takes no guest; uncordoned, it does again
        ApiClient.Reply refused = api.post("/api/v1/migrations", Map.of("guestId", others.get(0),
                "destinationHostId", "host-b"));
        assertThat(refused.status()).isEqualTo(422);
        assertThat(refused.json().get("detail").asString()).contains("host-b").contains("cordoned");
        assertThat(api.delete("/api/v1/hosts/host-b/drain").json().get("cordoned").asBoolean()).isFalse();
        awaitStatus(createJob(others.get(0), "host-b"), "completed");
        api.delete("/api/v1/guests/" + pinned);
        others.forEach(g -> api.delete("/api/v1/guests/" + g));
    }

    @Test
    @Order(3)
    void anUncordonMidDrainCancelsTheWaitingMovesAndLetsTheRunningOneFinish() {
        List<String> guests = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            guests.add(guest("host-c", 16 * MIB, 200, Map.of()));
        }
        // one job at a time in the whole cluster, each slowed to 1 MiB/s: the rest of the drain waits
        api.put("/api/v1/admission/limits", Map.of("maxJobs", 1));
        api.post("/api/v1/policies", Map.of("name", "slow", "maxBandwidth", MIB));
        assertThat(api.post("/api/v1/hosts/host-c/drain", null).status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Map<String, Integer> byStatus = new HashMap<>();
            api.get("/api/v1/hosts/host-c").json().get("drain").get("jobsByStatus").properties()
                    .forEach(e -> byStatus.put(e.getKey(), e.getValue().asInt()));
            assertThat(byStatus.getOrDefault("queued", 0)).isEqualTo(3);
            assertThat(byStatus.getOrDefault("active", 0) + byStatus.getOrDefault("setup", 0)).isEqualTo(1);
        });
        JsonNode queued = drainJobs("host-c").stream().filter(j -> j.get("status").asString().equals("queued"))
                .findFirst().orElseThrow();
        assertThat(queued.get("waitingFor").asString()).isEqualTo("cluster limit: 1 of 1 jobs running");

        JsonNode host = api.delete("/api/v1/hosts/host-c/drain").json();
        assertThat(host.get("cordoned").asBoolean()).isFalse();
        assertThat(host.get("drain").get("state").asString()).isEqualTo("cancelled");
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            List<String> statuses = drainJobs("host-c").stream().map(j -> j.get("status").asString()).toList();
            assertThat(statuses).containsExactlyInAnyOrder("completed", "cancelled", "cancelled", "cancelled");
        });
        long moved = guests.stream().filter(g -> !api.get("/api/v1/guests/" + g).json().get("hostId").asString()
                .equals("host-c")).count();
        assertThat(moved).isEqualTo(1);
        guests.forEach(g -> api.delete("/api/v1/guests/" + g));
    }

    @Test
    @Order(8)
    void aMoveThatKeepsFailingIsRetriedOnOtherDestinationsWithBackOffAndThenReported() throws Exception {
        String guestId = guest("host-c", 16 * MIB, 200, Map.of());
        // every destination drops the incoming stream as soon as it opened it
        java.nio.file.Files.writeString(dataDir.resolve("faults"),
                "host-a destination-opened drop\nhost-b destination-opened drop\nhost-d destination-opened drop\n");
        try {
            assertThat(api.post("/api/v1/hosts/host-c/drain", Map.of("maxAttempts", 3)).status()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                    assertThat(api.get("/api/v1/hosts/host-c").json().get("drain").get("state").asString())
                            .isEqualTo("completed"));
        } finally {
            java.nio.file.Files.deleteIfExists(dataDir.resolve("faults"));
        }
        JsonNode drain = api.get("/api/v1/hosts/host-c").json().get("drain");
        assertThat(drain.get("failed")).hasSize(1);
        JsonNode failed = drain.get("failed").get(0);
        assertThat(failed.get("attempts").asInt()).isEqualTo(3);
        assertThat(failed.get("cause").asString()).startsWith("gave up after 3 attempt(s); the last failed: job ");
        List<JsonNode> jobs = jobsOfGuest(guestId);
        assertThat(jobs).hasSize(3).allSatisfy(j -> assertThat(j.get("status").asString()).isEqualTo("failed"));
        assertThat(jobs.stream().map(j -> j.get("destinationHostId").asString()).distinct())
                .as("each try went to another destination").hasSize(3);
        // the tries were spaced by the back-off (2 s, then 4 s), so the drain did not spin
        List<java.time.Instant> created = jobs.stream().map(j -> java.time.Instant.parse(j.get("createdAt")
                .asString())).sorted().toList();
        assertThat(Duration.between(created.get(0), created.get(1))).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
        assertThat(Duration.between(created.get(1), created.get(2))).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-c");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/guests/" + guestId)
                .json().get("state").asString()).isEqualTo("running"));
        api.delete("/api/v1/guests/" + guestId);
    }

    // ---- policies: timeouts and escalation --------------------------------------------------

    /**
     * A guest that cannot converge at 2 MiB/s or less with a 10 ms downtime limit (5 pages left at
     * most), however slow the machine: it asks for 20000 writes/s into a hot set of ~200 pages, so
     * even a workload starved to 1 % of that dirties far more than 5 pages every round.
     */
    private String busyGuest(String host, Map<String, String> labels) {
        return guest(host, 16 * MIB, 20_000, 0.05, labels);
    }

    @Test
    @Order(4)
    void withoutProgressAPolicySwitchesToPostcopyAndTheJobCompletes() {
        api.post("/api/v1/policies", Map.of("name", "rescue", "guestSelector", Map.of("app", "busy"),
                "maxBandwidth", 2 * MIB, "downtimeLimitMs", 10, "progressTimeout", 3, "allowPostcopy", true,
                "escalation", List.of("postcopy", "abort")));
        String guestId = busyGuest("host-a", Map.of("app", "busy"));
        String jobId = createJob(guestId, "host-b");
        JsonNode job = api.get("/api/v1/migrations/" + jobId).json();
        assertThat(job.get("policy").get("name").asString()).isEqualTo("rescue");
        List<String> ladder = new ArrayList<>();
        job.get("policy").get("escalation").forEach(s -> ladder.add(s.asString()));
        assertThat(ladder).containsExactly("postcopy", "abort");
        assertThat(job.get("parameters").get("capabilities").get("postcopy").asBoolean()).isTrue();
        JsonNode done = awaitStatus(jobId, "completed", "failed", "cancelled");
        assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("completed");
        List<String> escalations = new ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> {
            if (e.get("kind").asString().equals("escalation")) {
                escalations.add(e.get("reason").asString());
            }
        });
        assertThat(escalations).singleElement().asString().startsWith("no progress for 3 s")
                .endsWith(": switched to post-copy");
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-b");
        api.delete("/api/v1/guests/" + guestId);
    }

    /**
     * The ladder's first rung turns auto-converge on: the guest is throttled (at most 99 %, so
     * its writes fall to 200/s into ~200 pages) until pre-copy converges, and the job completes
     * without post-copy and before the next rung would abort it.
     */
    @Test
    @Order(5)
    void withoutProgressAPolicyTurnsAutoConvergeOnAndTheThrottledGuestCompletes() {
        api.post("/api/v1/policies", Map.of("name", "throttle", "guestSelector", Map.of("app", "throttle"),
                "maxBandwidth", 2 * MIB, "downtimeLimitMs", 30, "progressTimeout", 3,
                "escalation", List.of("auto-converge", "abort"), "escalationGrace", 60,
                "convergence", Map.of("cpuThrottleIncrement", 20)));
        String guestId = busyGuest("host-a", Map.of("app", "throttle"));
        String jobId = createJob(guestId, "host-b");
        JsonNode job = api.get("/api/v1/migrations/" + jobId).json();
        assertThat(job.get("parameters").get("capabilities").get("autoConverge").asBoolean()).isFalse();
        assertThat(job.get("parameters").get("convergence").get("cpuThrottleIncrement").asInt()).isEqualTo(20);
        JsonNode done = awaitStatus(jobId, "completed", "failed", "cancelled");
        assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("completed");
        assertThat(done.get("parameters").get("capabilities").get("autoConverge").asBoolean())
                .as("the rung turned it on").isTrue();
        JsonNode throttle = done.get("progress").get("convergence").get("throttle");
        assertThat(throttle.get("raises").asLong()).as(done.toString()).isPositive();
        assertThat(throttle.get("throttledMs").asLong()).isPositive();
        List<String> escalations = new ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> {
            if (e.get("kind").asString().equals("escalation")) {
                escalations.add(e.get("reason").asString());
            }
        });
        assertThat(escalations).singleElement().asString().startsWith("no progress for 3 s")
                .endsWith(": auto-converge turned on: the guest is throttled");
        assertThat(transitions(jobId)).doesNotContain("postcopy-active");
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-b");
        api.delete("/api/v1/guests/" + guestId);
    }

    @Test
    @Order(6)
    void withoutProgressAnAbortLadderCancelsTheJobAndTheGuestStaysOnTheSource() {
        api.post("/api/v1/policies", Map.of("name", "give-up", "hostSelector", Map.of("rack", "r1"),
                "maxBandwidth", 256 * 1024, "downtimeLimitMs", 10, "progressTimeout", 3, "escalation", List.of("abort"),
                "downtimeRamp", List.of(Map.of("afterSeconds", 1, "downtimeLimitMs", 20))));
        api.put("/api/v1/hosts/host-a/labels", Map.of("labels", Map.of("rack", "r1")));
        String guestId = busyGuest("host-a", Map.of());
        String jobId = createJob(guestId, "host-c");
        JsonNode job = api.get("/api/v1/migrations/" + jobId).json();
        assertThat(job.get("policy").get("name").asString()).isEqualTo("give-up");
        assertThat(job.get("policy").get("progressTimeout").asLong()).isEqualTo(3);
        JsonNode active = awaitStatus(jobId, "active");
        assertThat(active.get("deadlines").get("progress").isNull()).isFalse();
        // the ramp raised the downtime limit a second after the start (still too small to converge)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().get("parameters").get("downtimeLimitMs").asLong()).isEqualTo(20));
        JsonNode done = awaitStatus(jobId, "cancelled", "completed", "failed");
        assertThat(done.get("status").asString()).isEqualTo("cancelled");
        List<String> escalations = new ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> {
            if (e.get("kind").asString().equals("escalation")) {
                escalations.add(e.get("reason").asString());
            }
        });
        assertThat(escalations).hasSize(2);
        assertThat(escalations.get(0)).isEqualTo("downtime ramp of policy 'give-up': 1 s after the start, the "
                + "downtime limit is 20 ms");
        assertThat(escalations.get(1)).startsWith("no progress for 3 s").endsWith("aborted: the guest stays on the source");
        assertThat(done.get("deadlines").get("escalationsTaken").asInt()).isEqualTo(1);
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-a");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/guests/" + guestId)
                .json().get("state").asString()).isEqualTo("running"));
        api.delete("/api/v1/guests/" + guestId);
    }

    // ---- pre-flight ---------------------------------------------------------------------------

    @Test
    @Order(7)
    void preflightAnswersForAFittingATooLargeAndANonConvergingGuest() {
        String idle = guest("host-d", 32 * MIB, 0, Map.of());
        JsonNode fits = api.post("/api/v1/migrations/preflight?dirtyRateWindowMs=500", Map.of("guestId", idle,
                "destinationHostId", "host-a")).json();
        assertThat(fits.get("accepted").asBoolean()).isTrue();
        assertThat(fits.get("admissibleNow").asBoolean()).isTrue();
        assertThat(fits.get("failedChecks")).isEmpty();
        assertThat(fits.get("forecast").get("verdict").asString()).isEqualTo("converges");
        assertThat(fits.get("forecast").get("dirtyPagesPerSecond").asDouble()).isZero();
        assertThat(fits.get("plan").get("parameters").get("storage").asString()).isEqualTo("shared");

        // a guest larger than what the destination has free
        api.put("/api/v1/hosts/host-a/labels", Map.of("labels", Map.of("small", "yes")));
        String filler = guest("host-a", 1000 * MIB, 0, Map.of());
        JsonNode tooLarge = api.post("/api/v1/migrations/preflight?dirtyRateWindowMs=200", Map.of("guestId", idle,
                "destinationHostId", "host-a")).json();
        assertThat(tooLarge.get("accepted").asBoolean()).isFalse();
        assertThat(tooLarge.get("admissibleNow").asBoolean()).isFalse();
        assertThat(tooLarge.get("failedChecks").findValuesAsString("check")).containsExactly("capacity");
        assertThat(tooLarge.get("failedChecks").get(0).get("detail").asString()).contains("does not fit on host 'host-a'");
        api.delete("/api/v1/guests/" + filler);

        // a guest dirtying faster than its policy lets the link carry
        api.post("/api/v1/policies", Map.of("name", "thin-link", "maxBandwidth", MIB, "downtimeLimitMs", 50));
        String busy = guest("host-d", 32 * MIB, 2000, Map.of());
        JsonNode forecast = api.post("/api/v1/migrations/preflight", Map.of("guestId", busy,
                "destinationHostId", "host-b")).json().get("forecast");
        assertThat(forecast.get("verdict").asString()).as(forecast.toString()).isEqualTo("will-not-converge");
        assertThat(forecast.get("bandwidthBytesPerSecond").asLong()).isEqualTo(MIB);
        assertThat(forecast.get("sampledPages").asLong()).as("a small guest is judged on enough pages")
                .isGreaterThanOrEqualTo(1024);
        assertThat(forecast.get("bandwidthSource").asString()).isEqualTo("maxBandwidth");
        assertThat(forecast.get("dirtyPagesPerSecond").asDouble()).isGreaterThan(500);
        // ... and with post-copy allowed it would need it
        JsonNode withPostcopy = api.post("/api/v1/migrations/preflight", Map.of("guestId", busy,
                "destinationHostId", "host-b", "parameters", Map.of("capabilities", Map.of("postcopy", true))))
                .json().get("forecast");
        assertThat(withPostcopy.get("verdict").asString()).isEqualTo("needs-postcopy");
        // nothing moved, nothing was queued
        assertThat(jobsOfGuest(idle)).isEmpty();
        assertThat(jobsOfGuest(busy)).isEmpty();
        api.delete("/api/v1/guests/" + idle);
        api.delete("/api/v1/guests/" + busy);
    }

    // ---- the convergence tools through the workers ----------------------------------------------

    /**
     * XBZRLE and compression reach the workers (the destination learns the job's compression
     * method from the control plane) and move a writing guest whose memory both sides verify at
     * switchover; the job's progress carries each tool's figures.
     */
    @Test
    @Order(9)
    void xbzrleAndCompressionEachMoveAWritingGuestVerified() {
        String encoded = guest("host-a", 32 * MIB, 2000, 0.1, Map.of());
        String compressed = guest("host-c", 32 * MIB, 2000, 0.1, Map.of());
        ApiClient.Reply x = api.post("/api/v1/migrations", Map.of("guestId", encoded, "destinationHostId", "host-b",
                "parameters", Map.of("maxBandwidth", 16 * MIB, "verifyChecksums", true,
                        "capabilities", Map.of("xbzrle", true), "convergence", Map.of("xbzrleCacheSize", 8 * MIB))));
        assertThat(x.status()).as(x.body()).isEqualTo(202);
        assertThat(x.json().get("parameters").get("capabilities").get("channels").asInt())
                .as("XBZRLE keeps to the main stream").isEqualTo(1);
        ApiClient.Reply c = api.post("/api/v1/migrations", Map.of("guestId", compressed, "destinationHostId", "host-d",
                "parameters", Map.of("verifyChecksums", true,
                        "capabilities", Map.of("compression", "zstd", "channels", 1),
                        "convergence", Map.of("compressionLevel", 3))));
        assertThat(c.status()).as(c.body()).isEqualTo(202);
        for (ApiClient.Reply created : List.of(x, c)) {
            String jobId = created.json().get("id").asString();
            JsonNode done = awaitStatus(jobId, "completed", "failed", "cancelled");
            assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("completed");
            JsonNode verification = done.get("progress").get("verification");
            assertThat(verification.get("destinationMemory").asString()).as("memory verified at switchover")
                    .isEqualTo(verification.get("sourceMemory").asString());
        }
        JsonNode xbzrle = api.get("/api/v1/migrations/" + x.json().get("id").asString()).json().get("progress")
                .get("convergence").get("xbzrle");
        assertThat(xbzrle.get("cacheSize").asLong()).isEqualTo(8 * MIB);
        assertThat(xbzrle.get("pages").asLong() + xbzrle.get("cacheMiss").asLong())
                .as("pages sent again were looked up in the cache: " + xbzrle).isPositive();
        JsonNode compression = api.get("/api/v1/migrations/" + c.json().get("id").asString()).json().get("progress")
                .get("convergence").get("compression");
        assertThat(compression.get("method").asString()).isEqualTo("zstd");
        assertThat(compression.get("pages").asLong()).isPositive();
        assertThat(compression.get("bytesOut").asLong()).as("mostly zero bytes compress")
                .isLessThan(compression.get("bytesIn").asLong());
        assertThat(api.get("/api/v1/guests/" + encoded).json().get("hostId").asString()).isEqualTo("host-b");
        assertThat(api.get("/api/v1/guests/" + compressed).json().get("hostId").asString()).isEqualTo("host-d");
        api.delete("/api/v1/guests/" + encoded);
        api.delete("/api/v1/guests/" + compressed);
    }
}
