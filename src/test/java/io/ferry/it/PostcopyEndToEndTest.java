package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.guest.DiskWritePattern;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Post-copy through the API, between two local workers: a guest that dirties memory faster than
 * its job may send does not converge in pre-copy; switched (by request or by itself) it runs on
 * the destination at once and completes there with every acknowledged disk write kept. A broken
 * link pauses the job and a recovery finishes it; a dead worker leaves it paused with the
 * surviving side's part intact. The workers run with the fault-injection hook, used here only to
 * drop the data connection at post-copy's steps.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostcopyEndToEndTest extends ApiTestSupport {

    private static final long DISK_BYTES = 8 * MIB;
    private static Path dataDir;

    @DynamicPropertySource
    static void faultHook(DynamicPropertyRegistry registry) {
        dataDir = newDataDir("postcopy");
        registry.add("ferry.data-dir", dataDir::toString);
        registry.add("ferry.workers.local.java-options",
                () -> "-Xmx128m -Dferry.fault.file=" + dataDir.resolve("faults"));
        TestDatabase.H2.register(registry, dataDir.toString());
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private final JsonMapper json = JsonMapper.builder().build();

    /** A 64 MiB guest writing 20000 pages/s (~80 MB/s) and 200 disk blocks/s. */
    private String fastGuest(int seed) {
        ApiClient.Reply created = api.post("/api/v1/guests", Map.of("name", "postcopy-" + seed, "hostId", "host-a",
                "memoryBytes", 64 * MIB, "disks", List.of(Map.of("name", "root", "sizeBytes", DISK_BYTES)),
                "workload", Map.of("dirtyPagesPerSecond", 20000, "hotSetFraction", 0.5, "diskWritesPerSecond", 200,
                        "seed", seed)));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    private String postcopyJob(String guestId, Map<String, Object> extra) {
        Map<String, Object> parameters = new java.util.HashMap<>(Map.of("maxBandwidth", 8 * MIB,
                "downtimeLimitMs", 50, "capabilities", Map.of("postcopy", true)));
        parameters.putAll(extra);
        ApiClient.Reply created = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", parameters));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        return created.json().get("id").asString();
    }

    private List<String> timeline(String jobId) {
        return transitions(jobId);
    }

    /** Pauses the guest and checks its image is exactly what its acknowledged writes imply. */
    private void assertEveryAcknowledgedWriteKept(String guestId, int seed) {
        assertThat(api.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(200);
        JsonNode sums = api.get("/api/v1/guests/" + guestId + "/checksums").json();
        long acknowledged = sums.get("diskWritesAcknowledged").asLong();
        assertThat(acknowledged).isGreaterThan(0);
        assertThat(sums.get("disks").get(0).get("sha256").asString())
                .isEqualTo(DiskWritePattern.expectedSha256(seed, acknowledged, new long[] {DISK_BYTES})[0]);
    }

    @Test
    @Order(1)
    void aGuestThatOutrunsItsBandwidthSwitchesOnRequestAndCompletesOnTheDestination() {
        int seed = 51;
        String guestId = fastGuest(seed);
        String jobId = postcopyJob(guestId, Map.of("maxPostcopyBandwidth", 8 * MIB));
        awaitStatus(jobId, "active");
        // pre-copy does not converge: round after round, more is dirty than fits the downtime limit
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            JsonNode progress = api.get("/api/v1/migrations/" + jobId).json().get("progress");
            assertThat(progress.get("ram").get("iterations").asLong()).isGreaterThanOrEqualTo(3);
        });
        JsonNode stillActive = api.get("/api/v1/migrations/" + jobId).json();
        assertThat(stillActive.get("status").asString()).isEqualTo("active");
        assertThat(stillActive.get("progress").get("ram").get("remaining").asLong()).isGreaterThan(8 * MIB);
        assertThat(stillActive.get("progress").get("expectedDowntimeMs").asLong()).isGreaterThan(50);

        ApiClient.Reply switched = api.post("/api/v1/migrations/" + jobId + "/postcopy", null);
        assertThat(switched.status()).as(switched.body()).isEqualTo(202);
        JsonNode running = awaitStatus(jobId, "postcopy-active", "completed");
        if (running.get("status").asString().equals("postcopy-active")) {
            // the guest's record moves with the destination's activation of its disks (the source's
            // report may come first); both hosts hold parts of it: no cancel
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    api.get("/api/v1/guests/" + guestId).json().get("hostId").asString().equals("host-b"));
            ApiClient.Reply cancel = api.post("/api/v1/migrations/" + jobId + "/cancel", null);
            assertThat(cancel.status()).isEqualTo(409);
            assertThat(cancel.json().get("currentStatus").asString()).isIn("postcopy-active", "completed");
            assertThat(api.post("/api/v1/migrations/" + jobId + "/recover", null).status()).isEqualTo(409);
            assertThat(api.post("/api/v1/migrations/" + jobId + "/postcopy", null).status()).isEqualTo(409);
        }
        JsonNode done = awaitStatus(jobId, "completed", "failed");
        assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("completed");
        assertThat(timeline(jobId)).containsExactly("queued", "setup", "active", "postcopy-active", "completed");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode postcopy = api.get("/api/v1/migrations/" + jobId).json().get("progress").get("postcopy");
            assertThat(postcopy.get("faultLatency").get("faults").asLong()).isGreaterThan(0);
        });
        JsonNode progress = api.get("/api/v1/migrations/" + jobId).json().get("progress");
        JsonNode postcopy = progress.get("postcopy");
        assertThat(postcopy.get("requests").asLong()).isGreaterThan(0);
        assertThat(postcopy.get("bytesBeforePause").asLong() + postcopy.get("bytesDuringPause").asLong()
                + postcopy.get("bytesAfterPause").asLong()).isEqualTo(progress.get("ram").get("transferred").asLong());
        assertThat(postcopy.get("bytesAfterPause").asLong()).isGreaterThan(0);
        JsonNode latency = postcopy.get("faultLatency");
        assertThat(latency.get("p50Ms").asDouble()).isPositive().isLessThanOrEqualTo(latency.get("p99Ms").asDouble());
        assertThat(latency.get("p99Ms").asDouble()).isLessThanOrEqualTo(latency.get("maxMs").asDouble());

        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-b");
        assertThat(guest.get("state").asString()).isEqualTo("running");
        String diskId = guest.get("disks").get(0).get("id").asString();
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        assertThat(ownership.get("ownerHostId").asString()).isEqualTo("host-b");
        assertThat(ownership.get("state").asString()).isEqualTo("active");
        assertThat(ownership.get("generation").asLong()).isEqualTo(3);
        assertEveryAcknowledgedWriteKept(guestId, seed);
    }

    @Test
    @Order(2)
    void aLinkDroppedDuringPostcopyPausesTheJobAndARecoveryCompletesIt() throws Exception {
        int seed = 52;
        String guestId = fastGuest(seed);
        Path faults = dataDir.resolve("faults");
        // the destination drops the link once the guest runs there, and every recovery while the rule stands
        Files.writeString(faults, "host-b postcopy-running drop\nhost-b postcopy-recovery drop\n");
        String jobId;
        try {
            jobId = postcopyJob(guestId, Map.of("postcopyAfterIterations", 2, "maxPostcopyBandwidth", 8 * MIB));
            JsonNode paused = awaitStatus(jobId, "postcopy-paused", "completed", "failed");
            assertThat(paused.get("status").asString()).as(paused.toString()).isEqualTo("postcopy-paused");
            assertThat(paused.get("statusReason").asString()).contains("post-copy");
            assertThat(paused.get("progress").get("ram").get("iterations").asLong()).isEqualTo(2);
            // while the link stays down the job stays paused, recovery requests included; nothing is dropped
            ApiClient.Reply recover = api.post("/api/v1/migrations/" + jobId + "/recover", null);
            assertThat(recover.status()).as(recover.body()).isEqualTo(202);
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() ->
                    api.get("/api/v1/migrations/" + jobId).json().get("status").asString().equals("postcopy-paused"));
            assertThat(api.post("/api/v1/migrations/" + jobId + "/cancel", null).status()).isEqualTo(409);
            // both halves are alive: an operator may not give one up, the link is to be recovered
            ApiClient.Reply abandon = api.post("/api/v1/migrations/" + jobId + "/abandon",
                    Map.of("keep", "source", "reason", "test"));
            assertThat(abandon.status()).isEqualTo(409);
            assertThat(abandon.json().get("detail").asString()).contains("both workers").contains("/recover");
            assertThat(Files.readString(dataDir.resolve("faults.reached"))).contains("postcopy-recovery " + jobId);
        } finally {
            Files.deleteIfExists(faults);
        }
        assertThat(api.post("/api/v1/migrations/" + jobId + "/recover", null).status()).isEqualTo(202);
        JsonNode done = awaitStatus(jobId, "completed", "failed");
        assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("completed");
        List<String> timeline = timeline(jobId);
        assertThat(timeline).containsSubsequence("active", "postcopy-active", "postcopy-paused", "postcopy-active",
                "completed");
        assertThat(done.get("progress").get("postcopy").get("recoveries").asLong()).isGreaterThanOrEqualTo(1);
        assertEveryAcknowledgedWriteKept(guestId, seed);
    }

    @Test
    @Order(3)
    void aDestinationWorkerKilledDuringPostcopyLeavesTheJobPausedAndTheSourceKeepsItsPart() throws Exception {
        String guestId = fastGuest(53);
        String jobId = longPostcopy(guestId);
        String source = controlAddress("host-a");
        killWorker("host-b");

        // it stays paused: the control plane does not fail it, the source does not resume its copy
        awaitPausedForGood(jobId, "post-copy link to");
        assertThat(guestState(source, guestId)).as("the source still holds the guest's pages").isEqualTo("paused");
        // and its image stays fenced: the destination had activated it
        String diskId = api.get("/api/v1/guests/" + guestId).json().get("disks").get(0).get("id").asString();
        for (JsonNode disk : workerStatus(source).get("disks")) {
            if (disk.get("diskId").asString().equals(diskId)) {
                assertThat(disk.get("activeGeneration").asLong()).isZero();
            }
        }
        assertThat(api.post("/api/v1/migrations/" + jobId + "/cancel", null).status()).isEqualTo(409);

        // an operator ends it: the destination's half is gone, so only the source can be kept
        ApiClient.Reply wrongSide = api.post("/api/v1/migrations/" + jobId + "/abandon",
                Map.of("keep", "destination", "reason", "host-b was lost"));
        assertThat(wrongSide.status()).isEqualTo(409);
        assertThat(wrongSide.json().get("detail").asString()).contains("gone");
        ApiClient.Reply abandoned = api.post("/api/v1/migrations/" + jobId + "/abandon",
                Map.of("keep", "source", "reason", "host-b was lost"));
        assertThat(abandoned.status()).as(abandoned.body()).isEqualTo(200);
        assertThat(abandoned.json().get("status").asString()).isEqualTo("failed");
        assertThat(abandoned.json().get("failure").asString()).contains("kept the source on host-a")
                .contains("host-b was lost");
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-a");
        assertThat(guest.get("activeMigrationId").isNull()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> "running".equals(guestState(source, guestId)));
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        assertThat(ownership.get("ownerHostId").asString()).isEqualTo("host-a");
        assertThat(ownership.get("state").asString()).isEqualTo("active");
        assertThat(ownership.get("generation").asLong()).isEqualTo(4);
        List<String> decisions = new java.util.ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> {
            if (e.get("kind").asString().equals("decision")) {
                decisions.add(e.get("actor").asString() + " " + e.get("reason").asString());
            }
        });
        assertThat(decisions).hasSize(2);
        assertThat(decisions.get(0)).startsWith("api:").contains("abandoned by api:");
        assertThat(decisions.get(1)).contains("runs the guest as its own; 0 page(s) lost");
        // the source writes its image again, at the new generation, and keeps doing so
        String before = api.get("/api/v1/guests/" + guestId + "/checksums").json().get("disks").get(0)
                .get("sha256").asString();
        await().atMost(Duration.ofSeconds(10)).until(() -> !api.get("/api/v1/guests/" + guestId + "/checksums")
                .json().get("disks").get(0).get("sha256").asString().equals(before));
    }

    @Test
    @Order(4)
    void aSourceWorkerKilledDuringPostcopyLeavesTheJobPausedAndTheGuestRunningOnTheDestination() throws Exception {
        String guestId = fastGuest(54);
        String jobId = longPostcopy(guestId);
        String destination = controlAddress("host-b");
        // the destination runs the guest (RUN arrived, disks activated) before the source dies
        await().atMost(Duration.ofSeconds(30)).until(() -> "running".equals(guestState(destination, guestId)));
        killWorker("host-a");

        awaitPausedForGood(jobId, "connection from the source lost");
        // the destination keeps the guest running on the pages it has
        assertThat(guestState(destination, guestId)).as("the destination still runs the guest").isEqualTo("running");

        // an operator keeps the destination's half: the pages it never got are lost (zero), nothing waits any more
        ApiClient.Reply abandoned = api.post("/api/v1/migrations/" + jobId + "/abandon",
                Map.of("keep", "destination", "reason", "host-a died"));
        assertThat(abandoned.status()).as(abandoned.body()).isEqualTo(200);
        assertThat(abandoned.json().get("status").asString()).isEqualTo("failed");
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-b");
        List<String> reasons = api.get("/api/v1/migrations/" + jobId + "/events").json().findValuesAsString("reason");
        assertThat(reasons).anySatisfy(r -> assertThat(r).matches("host-b runs the guest as its own; \\d+ page\\(s\\) "
                + "lost with host-a"));
        String diskId = api.get("/api/v1/guests/" + guestId).json().get("disks").get(0).get("id").asString();
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        assertThat(ownership.get("ownerHostId").asString()).isEqualTo("host-b");
        assertThat(ownership.get("generation").asLong()).isEqualTo(4);
        String before = api.get("/api/v1/guests/" + guestId + "/checksums").json().get("memory").asString();
        await().atMost(Duration.ofSeconds(10)).until(() -> !api.get("/api/v1/guests/" + guestId + "/checksums")
                .json().get("memory").asString().equals(before));
    }

    /** The guest's state as a worker reports it, null if the worker does not hold it. */
    private String guestState(String controlAddress, String guestId) throws IOException, InterruptedException {
        for (JsonNode guest : workerStatus(controlAddress).get("guests")) {
            if (guest.get("guestId").asString().equals(guestId)) {
                return guest.get("state").asString();
            }
        }
        return null;
    }

    /** A job in post-copy for many seconds: its background push is held to 1 MiB/s. */
    private String longPostcopy(String guestId) {
        String jobId = postcopyJob(guestId, Map.of("postcopyAfterIterations", 1, "maxPostcopyBandwidth", MIB));
        awaitStatus(jobId, "postcopy-active");
        return jobId;
    }

    /** The job pauses with a reason naming what broke, and stays paused: nothing fails it, nothing resumes. */
    private void awaitPausedForGood(String jobId, String reason) {
        JsonNode paused = awaitStatus(jobId, "postcopy-paused", "failed", "completed");
        assertThat(paused.get("status").asString()).as(paused.toString()).isEqualTo("postcopy-paused");
        assertThat(paused.get("statusReason").asString()).contains(reason);
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(6)).until(() ->
                api.get("/api/v1/migrations/" + jobId).json().get("status").asString().equals("postcopy-paused"));
    }

    private String controlAddress(String hostId) {
        return api.get("/api/v1/hosts/" + hostId).json().get("controlAddress").asString();
    }

    /** As kill -9: the local launcher starts a new worker process for the host afterwards. */
    private void killWorker(String hostId) throws IOException {
        long pid = Long.parseLong(Files.readString(dataDir.resolve("workers").resolve(hostId + ".pid")).strip());
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    private JsonNode workerStatus(String controlAddress) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://" + controlAddress
                        + "/v1/status")).timeout(Duration.ofSeconds(2)).header("Authorization", "Bearer test-worker-token")
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return json.readTree(response.body());
    }
}
