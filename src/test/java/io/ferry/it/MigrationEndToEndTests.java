package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Pre-copy migrations through the public API between the two local workers, against guests
 * whose workload keeps writing. Every claim is checked on bytes: digests of memory and device
 * state taken on both sides at switchover, or the guest's checksums before and after.
 */
abstract class MigrationEndToEndTests extends ApiTestSupport {

    /** Set by the subclass's property source when its context starts; classes run one after another. */
    static Path dataDir;

    private String busyGuest(String host, long memory, int dirtyPagesPerSecond) {
        Map<String, Object> body = guestRequest(host, memory);
        body.put("workload", Map.of("dirtyPagesPerSecond", dirtyPagesPerSecond, "hotSetFraction", 0.25,
                "diskWritesPerSecond", 20, "seed", 11));
        ApiClient.Reply created = api.post("/api/v1/guests", body);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    private String migrate(String guestId, String destination, Map<String, Object> parameters) {
        ApiClient.Reply created = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", destination, "parameters", parameters));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        return created.json().get("id").asString();
    }

    @Test
    void theRecordsNeverContradictTheMoveAPausedGuestMovesPausedAndMovesStraightBack() {
        String guestId = busyGuest("host-a", 32 * MIB, 2000);
        assertThat(api.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(200);
        for (String destination : List.of("host-b", "host-a", "host-b")) {
            String jobId = migrate(guestId, destination, Map.of("maxBandwidth", 0));
            JsonNode job;
            do {
                job = api.get("/api/v1/migrations/" + jobId).json();
                JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
                // never "incoming", and a guest on the destination runs there in the state it had
                assertThat(guest.get("state").asString()).isIn("paused", "migrating-out");
            } while (!job.get("status").asString().equals("completed"));
            // the first read of "completed" already has the final figures, and the guest is where it moved
            assertThat(job.get("progress").get("downtimeMs").isNull()).as(job.toString()).isFalse();
            assertThat(job.get("progress").get("totalTimeMs").asLong()).isPositive();
            JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
            assertThat(guest.get("hostId").asString()).isEqualTo(destination);
            assertThat(guest.get("state").asString()).isEqualTo("paused");
            assertThat(guest.get("activeMigrationId").isNull()).isTrue();
        }
    }

    @Test
    void aGuestThatKeepsWritingMovesByteExact() {
        String guestId = busyGuest("host-a", 64 * MIB, 3000);
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", 0, "downtimeLimitMs", 300,
                "verifyChecksums", true));
        JsonNode completed = awaitStatus(jobId, "completed", "failed");
        assertThat(completed.get("status").asString()).as(completed.toString()).isEqualTo("completed");
        // a completed job's figures are final: the source's last report completes it
        assertThat(completed.path("progress").path("downtimeMs").isNull()).as(completed.toString()).isFalse();
        JsonNode job = api.get("/api/v1/migrations/" + jobId).json();

        JsonNode progress = job.get("progress");
        JsonNode ram = progress.get("ram");
        assertThat(ram.get("total").asLong()).isEqualTo(64 * MIB);
        assertThat(ram.get("transferred").asLong()).isGreaterThan(0);
        assertThat(ram.get("remaining").asLong()).isZero();
        assertThat(ram.get("duplicate").asLong() + ram.get("normal").asLong()).isGreaterThanOrEqualTo(64 * MIB / 4096);
        assertThat(ram.get("normalBytes").asLong()).isEqualTo(ram.get("normal").asLong() * 4096);
        assertThat(ram.get("dirtySyncCount").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(ram.get("iterations").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(ram.get("mbps").asDouble()).isGreaterThan(0);
        assertThat(progress.get("downtimeMs").isNull()).isFalse();
        assertThat(progress.get("totalTimeMs").asLong()).isGreaterThanOrEqualTo(progress.get("setupTimeMs").asLong());

        // the destination computed its digests after loading, before resuming; they equal the source's
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().get("progress").get("verification").get("destinationMemory").isNull()).isFalse());
        JsonNode verification = api.get("/api/v1/migrations/" + jobId).json().get("progress").get("verification");
        assertThat(verification.get("destinationMemory").asString())
                .isEqualTo(verification.get("sourceMemory").asString());
        assertThat(verification.get("destinationDeviceState").asString())
                .isEqualTo(verification.get("sourceDeviceState").asString());

        assertThat(transitions(jobId))
                .containsExactly("queued", "setup", "active", "completed");
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-b");
        assertThat(guest.get("activeMigrationId").isNull()).isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("running"));
        String diskId = guest.get("disks").get(0).get("id").asString();
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        assertThat(ownership.get("ownerHostId").asString()).isEqualTo("host-b");
        assertThat(ownership.get("generation").asLong()).isEqualTo(3);
        assertThat(ownership.get("history").findValuesAsString("state")).containsExactly("active", "handoff", "active");
        assertThat(verification.get("destinationDisks")).isEqualTo(verification.get("sourceDisks"));
        assertThat(verification.get("sourceDisks")).hasSize(1);

        // it runs on host-b now: its workload keeps changing its memory there
        String before = api.get("/api/v1/guests/" + guestId + "/checksums").json().get("memory").asString();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(api.get("/api/v1/guests/" + guestId
                + "/checksums").json().get("memory").asString()).isNotEqualTo(before));
        ApiClient.Reply lateCancel = api.post("/api/v1/migrations/" + jobId + "/cancel", null);
        assertThat(lateCancel.status()).isEqualTo(409);
    }

    @Test
    void aGuestThatKeepsWritingMovesByteExactOnFourMultifdChannels() {
        String guestId = busyGuest("host-a", 32 * MIB, 3000);
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", 0, "verifyChecksums", true,
                "capabilities", Map.of("channels", 4)));
        JsonNode completed = awaitStatus(jobId, "completed", "failed");
        assertThat(completed.get("status").asString()).as(completed.toString()).isEqualTo("completed");
        assertThat(completed.get("parameters").get("capabilities").get("channels").asInt()).isEqualTo(4);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().get("progress").get("verification").get("destinationMemory").isNull()).isFalse());
        JsonNode verification = api.get("/api/v1/migrations/" + jobId).json().get("progress").get("verification");
        assertThat(verification.get("destinationMemory").asString())
                .isEqualTo(verification.get("sourceMemory").asString());
        assertThat(verification.get("destinationDisks")).isEqualTo(verification.get("sourceDisks"));
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-b");
    }

    @Test
    void aPausedGuestArrivesPausedWithIdenticalMemoryDisksAndDeviceState() {
        String guestId = busyGuest("host-b", 32 * MIB, 5000);
        await().pollDelay(Duration.ofMillis(500)).until(() -> true);
        api.post("/api/v1/guests/" + guestId + "/pause", null);
        JsonNode before = api.get("/api/v1/guests/" + guestId + "/checksums").json();
        String jobId = migrate(guestId, "host-a", Map.of("maxBandwidth", 0));
        assertThat(awaitStatus(jobId, "completed", "failed").get("status").asString()).isEqualTo("completed");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("paused"));
        JsonNode after = api.get("/api/v1/guests/" + guestId + "/checksums").json();
        assertThat(after.get("memory")).isEqualTo(before.get("memory"));
        assertThat(after.get("ramBlocks")).isEqualTo(before.get("ramBlocks"));
        assertThat(after.get("disks")).isEqualTo(before.get("disks"));
        assertThat(after.get("deviceState")).isEqualTo(before.get("deviceState"));
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-a");
    }

    @Test
    void cancelInTheBulkRoundLeavesTheGuestRunningOnTheSource() {
        String guestId = busyGuest("host-a", 64 * MIB, 20000);
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true);
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", 2 * MIB));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode progress = api.get("/api/v1/migrations/" + jobId).json().get("progress");
            assertThat(progress.isNull()).isFalse();
            assertThat(progress.get("ram").get("transferred").asLong()).isGreaterThan(MIB);
            assertThat(progress.get("ram").get("iterations").asLong()).isZero();
        });
        assertCancelKeepsGuestOnSource(jobId, guestId, "host-a");
    }

    @Test
    void cancelInALaterIterationLeavesTheGuestRunningOnTheSource() {
        String guestId = busyGuest("host-b", 16 * MIB, 20000);
        String jobId = migrate(guestId, "host-a", Map.of("maxBandwidth", 8 * MIB, "downtimeLimitMs", 1));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().path("progress").path("ram").path("iterations").asLong()).isGreaterThanOrEqualTo(3));
        // while the job holds the guest, only its switchover may stop or start it
        ApiClient.Reply pause = api.post("/api/v1/guests/" + guestId + "/pause", null);
        assertThat(pause.status()).isEqualTo(409);
        assertThat(pause.json().get("detail").asString()).contains(jobId);
        assertCancelKeepsGuestOnSource(jobId, guestId, "host-b");
    }

    @Test
    void cancelRightAfterCreationLeavesTheGuestRunningOnTheSource() {
        String guestId = busyGuest("host-a", 16 * MIB, 2000);
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", MIB));
        assertCancelKeepsGuestOnSource(jobId, guestId, "host-a");
    }

    private void assertCancelKeepsGuestOnSource(String jobId, String guestId, String source) {
        ApiClient.Reply cancel = api.post("/api/v1/migrations/" + jobId + "/cancel", null);
        assertThat(cancel.status()).as(cancel.body()).isEqualTo(200);
        JsonNode job = awaitStatus(jobId, "cancelled", "failed", "completed");
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("cancelled");
        assertThat(job.get("statusReason").asString()).isNotBlank();
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo(source);
        assertThat(guest.get("activeMigrationId").isNull()).isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("running"));
        String before = api.get("/api/v1/guests/" + guestId + "/checksums").json().get("memory").asString();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(api.get("/api/v1/guests/" + guestId
                + "/checksums").json().get("memory").asString()).isNotEqualTo(before));
    }

    @Test
    void raisingTheBandwidthOfARunningJobTakesEffect() {
        String guestId = busyGuest("host-a", 64 * MIB, 20000);
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true);
        // at 1 MiB/s this job could not finish: the guest dirties far more than that
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 500));
        awaitStatus(jobId, "active");
        assertThat(api.patch("/api/v1/migrations/" + jobId, Map.of("maxBandwidth", 0)).status()).isEqualTo(200);
        JsonNode job = awaitStatus(jobId, "completed", "failed");
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("completed");
        assertThat(job.get("parameters").get("maxBandwidth").asLong()).isZero();
    }

    @Test
    void killingTheDestinationWorkerFailsTheJobAndTheGuestRunsOnAtTheSource() throws Exception {
        String guestId = busyGuest("host-a", 64 * MIB, 20000);
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true);
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", 2 * MIB));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().path("progress").path("ram").path("transferred").asLong()).isGreaterThan(MIB));
        long destination = Long.parseLong(Files.readString(dataDir.resolve("workers").resolve("host-b.pid")).strip());
        String registeredBefore = api.get("/api/v1/hosts/host-b").json().get("registeredAt").asString();
        ProcessHandle.of(destination).orElseThrow().destroyForcibly();

        JsonNode job = awaitStatus(jobId, "failed", "completed", "cancelled");
        assertThat(job.get("status").asString()).isEqualTo("failed");
        assertThat(job.get("failure").asString()).containsIgnoringCase("destination");
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-a");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("running"));
        String before = api.get("/api/v1/guests/" + guestId + "/checksums").json().get("memory").asString();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(api.get("/api/v1/guests/" + guestId
                + "/checksums").json().get("memory").asString()).isNotEqualTo(before));
        // the launcher brings host-b back (a new worker process registers) for the other tests
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            JsonNode host = api.get("/api/v1/hosts/host-b").json();
            assertThat(host.get("registeredAt").asString()).isNotEqualTo(registeredBefore);
            assertThat(host.get("state").asString()).isEqualTo("reachable");
        });
    }

    /**
     * The Grafana dashboard the chart ships reads only metrics that exist: every name in its
     * queries is a sample of serve's /actuator/prometheus or of a worker's GET /metrics (no token),
     * scraped after a migration with a disk ran. The figures that migration made are there too.
     */
    @Test
    void everyMetricTheDashboardQueriesIsExportedAfterAMigration() throws Exception {
        String guestId = busyGuest("host-a", 16 * MIB, 500);
        String jobId = migrate(guestId, "host-b", Map.of("maxBandwidth", 0, "downtimeLimitMs", 300));
        JsonNode job = awaitStatus(jobId, "completed", "failed");
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("completed");

        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<String, String> scrape = url -> {
            try {
                var response = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).GET().build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).as(url).isEqualTo(200);
                return response.body();
            } catch (java.io.IOException | InterruptedException e) {
                throw new IllegalStateException(url, e);
            }
        };
        String serve = scrape.apply("http://127.0.0.1:" + port + "/actuator/prometheus");
        Map<String, String> workers = new java.util.TreeMap<>();
        api.get("/api/v1/hosts").json().forEach(h -> workers.put(h.get("id").asString(),
                scrape.apply("http://" + h.get("controlAddress").asString() + "/metrics")));
        assertThat(workers).containsOnlyKeys("host-a", "host-b");

        java.util.Set<String> exported = new java.util.TreeSet<>(DashboardQueries.sampleNames(serve));
        workers.values().forEach(w -> exported.addAll(DashboardQueries.sampleNames(w)));
        java.util.Set<String> queried = DashboardQueries.metricNames(Path.of("helm", "ferry", "dashboards", "ferry.json"));
        assertThat(queried).hasSizeGreaterThanOrEqualTo(10);
        java.util.Set<String> missing = new java.util.TreeSet<>(queried);
        missing.removeAll(exported);
        assertThat(missing).as("dashboard metrics nobody exports (exported: %s)", exported).isEmpty();

        // what this migration did shows: the source sent pages, device state and no requested pages...
        assertThat(sample(workers.get("host-a"), "ferry_migration_sent_bytes_total", "kind=\"ram\"")).isPositive();
        assertThat(sample(workers.get("host-a"), "ferry_migration_sent_bytes_total", "kind=\"device-state\""))
                .isPositive();
        assertThat(sample(workers.get("host-a"), "ferry_migration_stream_bytes_total", "host=\"host-a\""))
                .isGreaterThan(sample(workers.get("host-a"), "ferry_migration_sent_bytes_total", "kind=\"ram\""));
        // ...and the control plane timed it, its downtime and its disk hand-off
        assertThat(sample(serve, "ferry_migration_duration_seconds_count", "outcome=\"completed\"")).isPositive();
        assertThat(sample(serve, "ferry_migration_downtime_seconds_count", "outcome=\"completed\"")).isPositive();
        assertThat(sample(serve, "ferry_handoff_step_seconds_count", "step=\"handoff\"")).isPositive();
        assertThat(sample(serve, "ferry_handoff_step_seconds_count", "step=\"activate\"")).isPositive();
        assertThat(sample(serve, "ferry_jobs", "status=\"queued\"")).isGreaterThanOrEqualTo(0);
    }

    /** The sum of a metric's samples whose labels contain {@code label}. */
    private static double sample(String exposition, String name, String label) {
        double sum = 0;
        boolean found = false;
        for (String line : exposition.split("\n")) {
            if (line.startsWith(name + "{") && line.substring(0, line.indexOf('}')).contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        assertThat(found).as("%s{%s} in%n%s", name, label, exposition).isTrue();
        return sum;
    }
}
