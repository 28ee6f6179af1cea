package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.contract.OpenApiContract;
import io.ferry.control.ControlPlaneApplication;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;
import tools.jackson.databind.JsonNode;

/**
 * The control plane's API end to end: hosts, guests, jobs, errors, contract, operations (and,
 * from {@link AccessControlTests}, roles, tokens, JWTs and the audit log, in the same context).
 */
abstract class ControlPlaneApiTests extends AccessControlTests {

    // ---- hosts ----------------------------------------------------------------------------

    @Test
    void twoLocalHostsRegisterWithTheirAddressesAndCapacity() {
        ApiClient.Reply reply = api.get("/api/v1/hosts");
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().findValuesAsString("id")).containsExactly("host-a", "host-b");
        JsonNode hostA = api.get("/api/v1/hosts/host-a").json();
        assertThat(hostA.get("dataPlaneAddress").asString()).startsWith("127.0.0.1:");
        assertThat(hostA.get("controlAddress").asString()).startsWith("127.0.0.1:");
        assertThat(hostA.get("capacity").get("memoryBytes").asLong()).isEqualTo(HOST_CAPACITY);
        assertThat(api.get("/api/v1/hosts/host-z").status()).isEqualTo(404);
    }

    @Test
    void aCommandReachesItsWorkerWithin100Milliseconds() {
        String id = createGuest("host-b", 16 * MIB);
        long[] roundTrips = new long[21];
        for (int i = 0; i < roundTrips.length; i++) {
            long start = System.nanoTime();
            ApiClient.Reply reply = api.post("/api/v1/guests/" + id + (i % 2 == 0 ? "/pause" : "/resume"), null);
            roundTrips[i] = (System.nanoTime() - start) / 1_000_000;
            assertThat(reply.status()).isEqualTo(200);
        }
        java.util.Arrays.sort(roundTrips);
        // API request → control plane → worker → back: the median round trip, not a single outlier
        assertThat(roundTrips[roundTrips.length / 2]).as("median ms of %s", java.util.Arrays.toString(roundTrips))
                .isLessThan(100);
    }

    // ---- guests ---------------------------------------------------------------------------

    @Test
    void aGuestRunsOnItsWorkerAndItsChecksumsFollowItsWorkload() throws InterruptedException {
        ApiClient.Reply created = api.post("/api/v1/guests", guestRequest("host-a", 32 * MIB));
        assertThat(created.status()).isEqualTo(201);
        String id = created.json().get("id").asString();
        assertThat(created.header("Location")).isEqualTo("/api/v1/guests/" + id);
        assertThat(created.json().get("state").asString()).isEqualTo("running");
        assertThat(created.json().get("ramBlocks").findValuesAsString("name")).containsExactly("pc.ram", "vga.vram");

        JsonNode first = api.get("/api/v1/guests/" + id + "/checksums").json();
        Thread.sleep(300);
        JsonNode second = api.get("/api/v1/guests/" + id + "/checksums").json();
        assertThat(second.get("memory").asString()).isNotEqualTo(first.get("memory").asString());
        assertThat(second.get("disks").get(0).get("sha256").asString())
                .isNotEqualTo(first.get("disks").get(0).get("sha256").asString());

        assertThat(api.post("/api/v1/guests/" + id + "/pause", null).json().get("state").asString()).isEqualTo("paused");
        JsonNode pausedA = api.get("/api/v1/guests/" + id + "/checksums").json();
        Thread.sleep(300);
        JsonNode pausedB = api.get("/api/v1/guests/" + id + "/checksums").json();
        assertThat(pausedB.get("memory")).isEqualTo(pausedA.get("memory"));
        assertThat(pausedB.get("disks")).isEqualTo(pausedA.get("disks"));
        assertThat(api.get("/api/v1/guests/" + id).json().get("state").asString()).isEqualTo("paused");

        assertThat(api.post("/api/v1/guests/" + id + "/resume", null).json().get("state").asString()).isEqualTo("running");
        assertThat(api.delete("/api/v1/guests/" + id).status()).isEqualTo(204);
        assertThat(api.get("/api/v1/guests/" + id).status()).isEqualTo(404);
        assertThat(api.get("/api/v1/guests/" + id + "/checksums").status()).isEqualTo(404);
    }

    @Test
    void aGuestShowsItsDisksAndTheirOwnership() {
        JsonNode guest = api.get("/api/v1/guests/" + createGuest("host-b", 16 * MIB)).json();
        String diskId = guest.get("disks").get(0).get("id").asString();
        JsonNode disk = api.get("/api/v1/disks/" + diskId).json();
        assertThat(disk.get("ownership").get("ownerHostId").asString()).isEqualTo("host-b");
        assertThat(disk.get("ownership").get("state").asString()).isEqualTo("active");
        assertThat(disk.get("ownership").get("generation").asLong()).isEqualTo(1);
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        assertThat(ownership.get("history")).hasSize(1);
        assertThat(api.get("/api/v1/disks/" + UUID.randomUUID()).status()).isEqualTo(404);
    }

    @Test
    void aRetriedGuestPostWithTheSameKeyCreatesOneGuest() {
        Map<String, Object> body = guestRequest("host-a", 16 * MIB);
        String key = "guest-" + UUID.randomUUID();
        ApiClient.Reply first = api.post("/api/v1/guests", body, Map.of("Idempotency-Key", key));
        ApiClient.Reply retry = api.post("/api/v1/guests", body, Map.of("Idempotency-Key", key));
        assertThat(retry.status()).isEqualTo(201);
        assertThat(retry.json().get("id")).isEqualTo(first.json().get("id"));
        String name = (String) body.get("name");
        assertThat(api.get("/api/v1/guests").json().findValuesAsString("name").stream().filter(name::equals))
                .hasSize(1);

        Map<String, Object> other = new HashMap<>(body);
        other.put("memoryBytes", 32 * MIB);
        ApiClient.Reply reused = api.post("/api/v1/guests", other, Map.of("Idempotency-Key", key));
        assertThat(reused.status()).isEqualTo(422);
        assertThat(reused.json().get("detail").asString()).contains(key);
    }

    @Test
    void guestRequestsThatCannotBeHonouredAreRefusedWithoutLeavingAGuest() {
        int before = api.get("/api/v1/guests").json().size();

        ApiClient.Reply invalid = api.post("/api/v1/guests", Map.of("name", "", "hostId", "host-a", "memoryBytes", 1));
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.contentType()).startsWith("application/problem+json");
        assertThat(invalid.json().get("errors").findValuesAsString("field")).contains("name", "memoryBytes");

        ApiClient.Reply malformed = api.postRaw("/api/v1/guests", "{\"name\": ");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.json().get("detail").asString()).contains("not valid JSON");

        Map<String, Object> badLayout = guestRequest("host-a", 32 * MIB);
        badLayout.put("ramBlocks", List.of(Map.of("name", "pc.ram", "sizeBytes", 16 * MIB)));
        ApiClient.Reply layout = api.post("/api/v1/guests", badLayout);
        assertThat(layout.status()).isEqualTo(400);
        assertThat(layout.json().get("detail").asString()).contains("add up to");

        ApiClient.Reply unknownHost = api.post("/api/v1/guests", guestRequest("host-z", 16 * MIB));
        assertThat(unknownHost.status()).isEqualTo(422);
        assertThat(unknownHost.json().get("detail").asString()).contains("host-z");

        ApiClient.Reply tooLarge = api.post("/api/v1/guests", guestRequest("host-a", 2 * HOST_CAPACITY));
        assertThat(tooLarge.status()).as("%s / host-b: %s", tooLarge.body(), api.get("/api/v1/hosts/host-b").body())
                .isEqualTo(422);
        assertThat(tooLarge.json().get("detail").asString()).contains("does not fit");

        assertThat(api.get("/api/v1/guests").json().size()).isEqualTo(before);
    }

    @Test
    void requestsWithoutTheApiTokenAreRefused() {
        ApiClient.Reply anonymous = api.withToken(null).get("/api/v1/hosts");
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.contentType()).startsWith("application/problem+json");
        assertThat(api.withToken("test-worker-token").get("/api/v1/hosts").status()).isEqualTo(403);
    }

    // ---- migrations -----------------------------------------------------------------------

    @Test
    void aListPagesByCursorAndRefusesAMalformedOneNamingAfter() {
        JsonNode first = api.get("/api/v1/migrations?size=1").json();
        if (!first.get("next").isNull()) {
            JsonNode second = api.get("/api/v1/migrations?size=1&after=" + first.get("next").asString()).json();
            assertThat(second.get("totalItems").isNull()).isTrue();
            assertThat(second.get("items").get(0).get("id")).isNotEqualTo(first.get("items").get(0).get("id"));
        }
        assertThat(api.get("/api/v1/migrations?page=1&after=" + "MTIzOmZvbw").status()).isEqualTo(400);
        for (String bad : List.of("not-a-cursor", "%25%25", "MTIzOmZvbw")) {   // garbage, not base64url, "123:foo"
            ApiClient.Reply refused = api.get("/api/v1/migrations?after=" + bad);
            assertThat(refused.status()).as(bad).isEqualTo(400);
            assertThat(refused.contentType()).startsWith("application/problem+json");
            assertThat(refused.json().get("errors").findValuesAsString("field")).containsExactly("after");
        }
    }

    @Test
    void aJobShowsItsResolvedParametersProgressAndTimeline(CapturedOutput output) {
        String guestId = createGuest("host-a", 16 * MIB);
        ApiClient.Reply created = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("downtimeLimitMs", 50, "maxBandwidth", MIB)));
        assertThat(created.status()).isEqualTo(202);
        JsonNode job = created.json();
        String jobId = job.get("id").asString();
        assertThat(created.header("Location")).isEqualTo("/api/v1/migrations/" + jobId);
        assertThat(job.get("status").asString()).isIn("queued", "setup", "active");
        assertThat(job.get("sourceHostId").asString()).isEqualTo("host-a");
        assertThat(job.get("parameters").get("maxBandwidth").asLong()).isEqualTo(MIB);
        assertThat(job.get("parameters").get("downtimeLimitMs").asLong()).isEqualTo(50);
        assertThat(job.get("parameters").get("storage").asString()).isEqualTo("shared");
        assertThat(job.get("parameters").get("capabilities").get("channels").asInt()).as("QEMU's multifd default")
                .isEqualTo(2);
        JsonNode postcopyPlan = api.post("/api/v1/migrations/preflight", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("capabilities", Map.of("postcopy", true)))).json();
        assertThat(postcopyPlan.path("plan").path("parameters").path("capabilities").path("channels").asInt())
                .as("a job that may post-copy has multifd for its pre-copy rounds, as from QEMU 10.0").isEqualTo(2);
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("activeMigrationId").asString()).isEqualTo(jobId);

        JsonNode active = awaitStatus(jobId, "active");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().path("progress").path("ram").path("transferred").asLong()).isGreaterThan(0));
        JsonNode progress = api.get("/api/v1/migrations/" + jobId).json().get("progress");
        assertThat(progress.get("ram").get("total").asLong()).isEqualTo(16 * MIB);
        assertThat(progress.get("setupTimeMs").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(active.get("startedAt").isNull()).isFalse();

        JsonNode tuned = api.patch("/api/v1/migrations/" + jobId, Map.of("downtimeLimitMs", 40)).json();
        assertThat(tuned.get("parameters").get("maxBandwidth").asLong()).isEqualTo(MIB);
        assertThat(tuned.get("parameters").get("downtimeLimitMs").asLong()).isEqualTo(40);
        assertThat(api.patch("/api/v1/migrations/" + jobId, Map.of()).status()).isEqualTo(400);

        JsonNode page = api.get("/api/v1/migrations?page=0&guestId=" + guestId).json();
        assertThat(page.get("totalItems").asLong()).isEqualTo(1);
        assertThat(api.get("/api/v1/migrations?status=active&hostId=host-b&size=200").json().get("items")
                .findValuesAsString("id")).contains(jobId);
        assertThat(api.get("/api/v1/migrations?page=0&status=completed&guestId=" + guestId).json().get("totalItems").asLong())
                .isZero();
        assertThat(api.get("/api/v1/migrations?status=sleeping").status()).isEqualTo(400);
        assertThat(api.get("/api/v1/migrations?size=0").status()).isEqualTo(400);

        JsonNode cancelling = api.post("/api/v1/migrations/" + jobId + "/cancel", null).json();
        assertThat(cancelling.get("status").asString()).isIn("cancelling", "cancelled");
        JsonNode cancelled = awaitStatus(jobId, "cancelled");
        assertThat(cancelled.get("finishedAt").isNull()).isFalse();
        assertThat(output.getAll()).contains("[job:" + jobId + "]");

        assertThat(transitions(jobId)).containsExactly("queued", "setup", "active", "cancelling", "cancelled");
        List<JsonNode> events = new java.util.ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> {
            if (e.get("kind").asString().equals("transition")) {
                events.add(e);
            }
        });
        assertThat(events.get(0).get("from").isNull()).isTrue();
        assertThat(events.get(1).get("from").asString()).isEqualTo("queued");
        assertThat(events.get(3).get("actor").asString()).isEqualTo("api:bootstrap");
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("activeMigrationId").isNull()).isTrue();
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-a");
    }

    @Test
    void anIllegalTransitionAnswers409WithBothStates() {
        String jobId = slowJob(createGuest("host-a", 16 * MIB), "host-b");
        ApiClient.Reply postcopy = api.post("/api/v1/migrations/" + jobId + "/postcopy", null);
        assertThat(postcopy.status()).isEqualTo(409);
        assertThat(postcopy.json().get("detail").asString()).contains("postcopy capability");

        api.post("/api/v1/migrations/" + jobId + "/cancel", null);
        awaitStatus(jobId, "cancelled");
        ApiClient.Reply again = api.post("/api/v1/migrations/" + jobId + "/cancel", null);
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.contentType()).startsWith("application/problem+json");
        assertThat(again.json().get("currentStatus").asString()).isEqualTo("cancelled");
        assertThat(again.json().get("requestedStatus").asString()).isEqualTo("cancelling");
        assertThat(api.patch("/api/v1/migrations/" + jobId, Map.of("downtimeLimitMs", 100)).status()).isEqualTo(409);
    }

    @Test
    void aRetriedMigrationPostWithTheSameKeyCreatesOneJob() {
        String guestId = createGuest("host-b", 16 * MIB);
        Map<String, Object> body = Map.of("guestId", guestId, "destinationHostId", "host-a");
        String key = "job-" + UUID.randomUUID();
        ApiClient.Reply first = api.post("/api/v1/migrations", body, Map.of("Idempotency-Key", key));
        ApiClient.Reply retry = api.post("/api/v1/migrations", body, Map.of("Idempotency-Key", key));
        assertThat(first.status()).isEqualTo(202);
        assertThat(retry.status()).isEqualTo(202);
        assertThat(retry.json().get("id")).isEqualTo(first.json().get("id"));
        assertThat(api.get("/api/v1/migrations?page=0&guestId=" + guestId).json().get("totalItems").asLong()).isEqualTo(1);
        assertThat(api.post("/api/v1/migrations", body, Map.of("Idempotency-Key", "")).status()).isEqualTo(400);
    }

    // ---- dirty-rate measurement (issue 15, item 1) -------------------------------------------

    private JsonNode awaitDirtyRate(String guestId, String status) {
        JsonNode[] rate = new JsonNode[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            rate[0] = api.get("/api/v1/guests/" + guestId).json().get("dirtyRate");
            assertThat(rate[0].get("status").asString()).isEqualTo(status);
        });
        return rate[0];
    }

    @Test
    void aGuestsDirtyRateIsMeasuredOnItsWorkerOneAtATimeAndShownOnTheGuest() {
        String busy = createGuest("host-a", 32 * MIB);   // 2000 writes/s over half of its pages
        assertThat(api.get("/api/v1/guests/" + busy).json().get("dirtyRate").isNull()).isTrue();

        // long enough that the second request surely meets it running
        ApiClient.Reply started = api.post("/api/v1/guests/" + busy + "/dirty-rate",
                Map.of("windowMs", 3000, "mode", "dirty-bitmap"));
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        assertThat(started.header("Location")).isEqualTo("/api/v1/guests/" + busy);
        assertThat(started.json().get("status").asString()).isEqualTo("measuring");
        assertThat(started.json().get("hostId").asString()).isEqualTo("host-a");
        assertThat(started.json().get("dirtyPagesPerSecond").isNull()).isTrue();

        ApiClient.Reply again = api.post("/api/v1/guests/" + busy + "/dirty-rate", null);
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.contentType()).startsWith("application/problem+json");
        assertThat(again.json().get("detail").asString()).contains("already being measured", "dirty-bitmap");

        JsonNode measured = awaitDirtyRate(busy, "measured");
        assertThat(measured.get("mode").asString()).isEqualTo("dirty-bitmap");
        assertThat(measured.get("windowMs").asLong()).isEqualTo(3000);
        assertThat(measured.get("measuredWindowMs").asDouble()).isGreaterThanOrEqualTo(3000);
        assertThat(measured.get("dirtyPagesPerSecond").asDouble()).isPositive()
                // distinct pages: at most the hot set (4096 of 8192 pages) over the window
                .isLessThanOrEqualTo(4096 / (measured.get("measuredWindowMs").asDouble() / 1000));
        assertThat(measured.get("dirtyBytesPerSecond").asDouble())
                .isEqualTo(measured.get("dirtyPagesPerSecond").asDouble() * 4096);
        assertThat(measured.get("measuredAt").isNull()).isFalse();
        assertThat(measured.get("reason").isNull()).isTrue();

        // a fresh measurement over the pre-flight's window stands in for measuring again
        JsonNode forecast = api.post("/api/v1/migrations/preflight?dirtyRateWindowMs=3000",
                Map.of("guestId", busy, "destinationHostId", "host-b")).json().get("forecast");
        assertThat(forecast.get("dirtyRateSource").asString()).isEqualTo("stored");
        assertThat(forecast.get("dirtyPagesPerSecond").asDouble()).isEqualTo(measured.get("dirtyPagesPerSecond").asDouble());
        JsonNode other = api.post("/api/v1/migrations/preflight?dirtyRateWindowMs=100",
                Map.of("guestId", busy, "destinationHostId", "host-b")).json().get("forecast");
        assertThat(other.get("dirtyRateSource").asString()).isEqualTo("measured-now");

        Map<String, Object> idleBody = guestRequest("host-b", 16 * MIB);
        idleBody.put("workload", Map.of("dirtyPagesPerSecond", 0, "hotSetFraction", 1.0, "diskWritesPerSecond", 0,
                "seed", 1));
        ApiClient.Reply idleCreated = api.post("/api/v1/guests", idleBody);
        assertThat(idleCreated.status()).as(idleCreated.body()).isEqualTo(201);
        String idle = idleCreated.json().get("id").asString();
        assertThat(api.post("/api/v1/guests/" + idle + "/dirty-rate",
                Map.of("windowMs", 200, "samplePagesPerGiB", 262144)).status()).isEqualTo(202);
        JsonNode still = awaitDirtyRate(idle, "measured");
        assertThat(still.get("mode").asString()).isEqualTo("page-sampling");
        assertThat(still.get("hostId").asString()).isEqualTo("host-b");
        assertThat(still.get("sampledPages").asLong()).isEqualTo(4096);
        assertThat(still.get("dirtyPagesPerSecond").asDouble()).isZero();
        // a guest's memory starts zeroed and this one writes nothing
        assertThat(still.get("zeroPageFraction").asDouble()).isEqualTo(1.0);
        assertThat(api.get("/api/v1/guests").json().findValues("dirtyRate")).isNotEmpty();
    }

    @Test
    void aDirtyRateRequestForNoGuestABusyGuestOrWithABadBodyIsRefused() {
        ApiClient.Reply unknown = api.post("/api/v1/guests/" + UUID.randomUUID() + "/dirty-rate", null);
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.contentType()).startsWith("application/problem+json");

        String guestId = createGuest("host-a", 16 * MIB);
        for (Map<String, Object> bad : List.<Map<String, Object>>of(Map.of("windowMs", 99), Map.of("windowMs", 60001),
                Map.of("mode", "dirty-log"), Map.of("samplePagesPerGiB", 0), Map.of("samplePagesPerGiB", 262145),
                Map.of("window", 1000))) {
            ApiClient.Reply refused = api.post("/api/v1/guests/" + guestId + "/dirty-rate", bad);
            assertThat(refused.status()).as(bad.toString()).isEqualTo(400);
            assertThat(refused.json().get("errors").findValuesAsString("field")).as(bad.toString())
                    .containsExactly(bad.keySet().iterator().next());
        }
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("dirtyRate").isNull()).as("nothing started").isTrue();

        String jobId = slowJob(guestId, "host-b");
        ApiClient.Reply migrating = api.post("/api/v1/guests/" + guestId + "/dirty-rate", null);
        assertThat(migrating.status()).isEqualTo(409);
        assertThat(migrating.json().get("detail").asString()).contains("being migrated", jobId);
        api.post("/api/v1/migrations/" + jobId + "/cancel", null);
        awaitStatus(jobId, "cancelled");
        // once the job has ended it may be measured again (exactly: a 16 MiB guest samples only 8 pages)
        assertThat(api.post("/api/v1/guests/" + guestId + "/dirty-rate",
                Map.of("windowMs", 500, "mode", "dirty-bitmap")).status()).isEqualTo(202);
        assertThat(awaitDirtyRate(guestId, "measured").get("dirtyPagesPerSecond").asDouble()).isPositive();
    }

    @Test
    void aGuestHasAtMostOneUnfinishedJob() {
        String guestId = createGuest("host-a", 16 * MIB);
        String jobId = slowJob(guestId, "host-b");
        ApiClient.Reply second = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b"));
        assertThat(second.status()).isEqualTo(409);
        assertThat(second.json().get("detail").asString()).contains(jobId);
        ApiClient.Reply delete = api.delete("/api/v1/guests/" + guestId);
        assertThat(delete.status()).isEqualTo(409);
        api.post("/api/v1/migrations/" + jobId + "/cancel", null);
        awaitStatus(jobId, "cancelled");
        assertThat(createJob(guestId, "host-b")).isNotEqualTo(jobId);
    }

    @Test
    void impossibleOrUnsupportedMigrationsAreRefusedWithoutAJobRecord() {
        String guestId = createGuest("host-a", 16 * MIB);
        long before = api.get("/api/v1/migrations?page=0").json().get("totalItems").asLong();

        ApiClient.Reply same = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-a"));
        assertThat(same.status()).isEqualTo(422);
        assertThat(same.json().get("detail").asString()).contains("must differ");

        ApiClient.Reply unknownHost = api.post("/api/v1/migrations",
                Map.of("guestId", guestId, "destinationHostId", "host-z"));
        assertThat(unknownHost.status()).isEqualTo(422);

        ApiClient.Reply unknownGuest = api.post("/api/v1/migrations",
                Map.of("guestId", UUID.randomUUID(), "destinationHostId", "host-b"));
        assertThat(unknownGuest.status()).isEqualTo(422);

        // every convergence tool is supported; combinations QEMU excludes are refused by name
        ApiClient.Reply excluded = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of(
                        "capabilities", Map.of("postcopy", true, "xbzrle", true, "compression", "zstd"))));
        assertThat(excluded.status()).isEqualTo(422);
        assertThat(excluded.json().get("unsupported").valueStream().map(JsonNode::asString).toList())
                .containsExactly("parameters.capabilities.compression with parameters.capabilities.postcopy=true",
                        "parameters.capabilities.compression with parameters.capabilities.xbzrle=true");
        assertThat(excluded.json().get("detail").asString()).contains("ask for one");
        ApiClient.Reply xbzrleOnChannels = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of(
                        "capabilities", Map.of("xbzrle", true, "channels", 4))));
        assertThat(xbzrleOnChannels.status()).isEqualTo(422);
        assertThat(xbzrleOnChannels.json().get("detail").asString()).contains("multifd is not compatible with xbzrle");
        ApiClient.Reply badTuning = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("capabilities", Map.of("autoConverge", true),
                        "convergence", Map.of("cpuThrottleInitial", 0, "xbzrleCacheSize", 100))));
        assertThat(badTuning.status()).isEqualTo(400);
        assertThat(badTuning.body()).contains("parameters.convergence.cpuThrottleInitial")
                .contains("parameters.convergence.xbzrleCacheSize");
        ApiClient.Reply initialAboveMax = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("capabilities", Map.of("autoConverge", true),
                        "convergence", Map.of("cpuThrottleInitial", 60, "maxCpuThrottle", 50))));
        assertThat(initialAboveMax.status()).isEqualTo(400);
        assertThat(initialAboveMax.json().get("detail").asString()).contains("initial throttle 60 %");

        ApiClient.Reply channelsWithPostcopy = api.post("/api/v1/migrations/preflight", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of(
                        "capabilities", Map.of("postcopy", true, "channels", 4))));
        assertThat(channelsWithPostcopy.status()).as(channelsWithPostcopy.body()).isEqualTo(200);
        assertThat(channelsWithPostcopy.json().path("plan").path("parameters").path("capabilities").path("channels")
                .asInt()).as("several channels with post-copy are taken").isEqualTo(4);

        // switching to post-copy by itself needs the capability
        ApiClient.Reply autoSwitchWithoutPostcopy = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("postcopyAfterIterations", 2)));
        assertThat(autoSwitchWithoutPostcopy.status()).isEqualTo(400);
        assertThat(autoSwitchWithoutPostcopy.body()).contains("parameters.postcopyAfterIterations")
                .contains("capabilities.postcopy");
        ApiClient.Reply estimateWithoutPostcopy = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("postcopyWhenNotConverging", true)));
        assertThat(estimateWithoutPostcopy.status()).isEqualTo(400);
        assertThat(estimateWithoutPostcopy.body()).contains("parameters.postcopyWhenNotConverging");

        // the embedded workers share one datastore: copying an image onto itself is refused
        ApiClient.Reply copyOntoItself = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("storage", "copy")));
        assertThat(copyOntoItself.status()).isEqualTo(422);
        assertThat(copyOntoItself.json().get("detail").asString()).contains("share datastore")
                .contains("storage=shared");

        ApiClient.Reply misspelt = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwith", 1000)));
        assertThat(misspelt.status()).isEqualTo(400);
        assertThat(misspelt.json().get("detail").asString()).contains("maxBandwith");

        ApiClient.Reply invalid = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwidth", -1, "storage", "tape")));
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.json().get("errors").findValuesAsString("field"))
                .contains("parameters.maxBandwidth", "parameters.storage");

        // a 700 MiB guest on host-b leaves 324 MiB there: a 400 MiB guest from host-a does not fit
        createGuest("host-b", 700 * MIB);
        String big = createGuest("host-a", 400 * MIB);
        ApiClient.Reply tooLarge = api.post("/api/v1/migrations", Map.of("guestId", big, "destinationHostId", "host-b"));
        assertThat(tooLarge.status()).as("%s / host-b: %s", tooLarge.body(), api.get("/api/v1/hosts/host-b").body())
                .isEqualTo(422);
        assertThat(tooLarge.json().get("detail").asString()).contains("does not fit");

        assertThat(api.get("/api/v1/migrations?page=0").json().get("totalItems").asLong()).isEqualTo(before);
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("activeMigrationId").isNull()).isTrue();
        assertThat(api.get("/api/v1/migrations/" + UUID.randomUUID()).status()).isEqualTo(404);
    }

    // ---- pushed events ---------------------------------------------------------------------

    @Autowired
    io.ferry.control.events.EventPruner eventPruner;

    private EventStreamClient events(String query, String lastEventId) {
        EventStreamClient stream = new EventStreamClient("http://127.0.0.1:" + port + "/api/v1/events" + query,
                API_TOKEN, lastEventId);
        assertThat(stream.status()).isEqualTo(200);
        assertThat(stream.contentType()).startsWith("text/event-stream");
        return stream;
    }

    private static boolean jobEnded(EventStreamClient.Event e, String jobId) {
        return e.name().equals("job") && e.json().get("jobId").asString().equals(jobId)
                && e.json().get("payload").get("to").asString().equals("completed");
    }

    @Test
    void theEventStreamShowsAJobsTransitionsInOrderAndAResumedStreamGetsExactlyWhatItMissed() throws Exception {
        String guestId = createGuest("host-a", 16 * MIB);
        List<EventStreamClient.Event> seen;
        String jobId;
        try (EventStreamClient stream = events("?guest=" + guestId, null)) {
            jobId = createJob(guestId, "host-b");
            String job = jobId;
            seen = stream.until(e -> jobEnded(e, job), Duration.ofSeconds(60));
        }
        List<Long> ids = seen.stream().map(EventStreamClient.Event::id).toList();
        assertThat(ids).isSorted().doesNotHaveDuplicates();
        assertThat(seen).allSatisfy(e -> {
            assertThat(e.json().get("id").asLong()).isEqualTo(e.id());
            assertThat(e.json().get("type").asString()).isEqualTo(e.name());
            assertThat(e.json().get("guestId").asString()).isEqualTo(guestId);
        });
        List<String> statuses = seen.stream().filter(e -> e.name().equals("job"))
                .filter(e -> e.json().get("payload").get("kind").asString().equals("transition"))
                .map(e -> e.json().get("payload").get("to").asString()).toList();
        assertThat(statuses).containsExactlyElementsOf(transitions(jobId)).startsWith("queued").endsWith("completed");
        assertThat(seen).anySatisfy(e -> assertThat(e.json().get("payload").path("change").asString())
                .isEqualTo("claimed"));

        // resume after the second event: exactly the rest, in the same order
        long resumeAfter = ids.get(1);
        try (EventStreamClient resumed = events("?guest=" + guestId, Long.toString(resumeAfter))) {
            long last = ids.get(ids.size() - 1);
            List<Long> again = resumed.until(e -> e.id() >= last, Duration.ofSeconds(30)).stream()
                    .map(EventStreamClient.Event::id).toList();
            assertThat(again).containsExactlyElementsOf(ids.subList(2, ids.size()));
        }

        // filters: by job and type; by host
        try (EventStreamClient jobs = events("?job=" + jobId + "&type=job", Long.toString(ids.get(0) - 1))) {
            String job = jobId;
            List<EventStreamClient.Event> only = jobs.until(e -> jobEnded(e, job), Duration.ofSeconds(30));
            assertThat(only).allSatisfy(e -> {
                assertThat(e.name()).isEqualTo("job");
                assertThat(e.json().get("jobId").asString()).isEqualTo(job);
            });
            assertThat(only.stream().filter(e -> e.json().get("payload").get("kind").asString().equals("transition"))
                    .map(e -> e.json().get("payload").get("to").asString())).containsExactlyElementsOf(transitions(job));
        }
        String diskId = api.get("/api/v1/guests/" + guestId).json().get("disks").get(0).get("id").asString();
        try (EventStreamClient ownership = events("?host=host-b&type=ownership", Long.toString(resumeAfter))) {
            EventStreamClient.Event activated = ownership.next(Duration.ofSeconds(30));
            assertThat(activated.name()).isEqualTo("ownership");
            assertThat(activated.json().get("payload").get("diskId").asString()).isEqualTo(diskId);
            assertThat(activated.json().get("payload").get("ownerHostId").asString()).isEqualTo("host-b");
            assertThat(activated.json().get("payload").get("state").asString()).isEqualTo("active");
        }

        ApiClient.Reply badType = api.get("/api/v1/events?type=jobs");
        assertThat(badType.status()).isEqualTo(400);
        assertThat(api.withToken(null).get("/api/v1/events").status()).isEqualTo(401);
    }

    @Test
    void aClientResumingFromAnExpiredIdIsToldOfTheGap() throws Exception {
        String guestId = createGuest("host-a", 16 * MIB);
        long expired;
        try (EventStreamClient stream = events("?guest=" + guestId, "0")) {
            // the guest's creation (after a gap event if an earlier test pruned the log)
            expired = stream.until(e -> !e.name().equals("gap"), Duration.ofSeconds(30)).get(0).id();
        }
        assertThat(eventPruner.pruneBefore(java.time.Instant.now().plusSeconds(1))).isPositive();
        try (EventStreamClient resumed = events("?guest=" + guestId, Long.toString(expired - 1))) {
            EventStreamClient.Event gap = resumed.next(Duration.ofSeconds(30));
            assertThat(gap.name()).isEqualTo("gap");
            assertThat(gap.json().get("lastEventId").asLong()).isEqualTo(expired - 1);
            assertThat(gap.json().get("prunedThroughId").asLong()).isGreaterThanOrEqualTo(expired);
            assertThat(gap.id()).isEqualTo(gap.json().get("prunedThroughId").asLong());
            // and the stream goes on after the gap
            api.post("/api/v1/guests/" + guestId + "/pause", null);
            EventStreamClient.Event paused = resumed.next(Duration.ofSeconds(30));
            assertThat(paused.id()).isGreaterThan(gap.id());
            assertThat(paused.json().get("payload").get("state").asString()).isEqualTo("paused");
        }
    }

    /** An idle stream carries keep-alive comments (every second here), so proxies do not close it. */
    @Test
    void anIdleStreamCarriesKeepAliveComments() {
        try (EventStreamClient idle = events("?guest=" + UUID.randomUUID(), null)) {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(idle.comments())
                    .filteredOn(c -> c.strip().equals("keep-alive")).hasSizeGreaterThanOrEqualTo(2));
        }
    }

    @Autowired
    io.ferry.control.events.EventRecorder eventRecorder;
    @Autowired
    org.springframework.transaction.PlatformTransactionManager transactions;

    /**
     * Ids are drawn at insert and become visible at commit. An event whose transaction takes
     * longer than the hole grace is passed over for a while, but never lost: the live stream gets
     * it late (without an SSE id, so its resume point does not move back), and a stream resuming
     * from before it reads it in id order.
     */
    @Test
    void anEventThatCommitsAfterTheFeedPassedOverItsIdComesLateNotNever() throws Exception {
        String guestId = createGuest("host-a", 16 * MIB);
        try (EventStreamClient stream = events("?guest=" + guestId, null)) {
            SlowEventTransaction slow = new SlowEventTransaction(transactions, eventRecorder, guestId);
            // a later change commits at once; the stream shows it once the hole is older than the grace
            assertThat(api.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(200);
            List<EventStreamClient.Event> before = stream.until(e -> e.json().get("payload").path("state").asString("")
                    .equals("paused"), Duration.ofSeconds(30));
            EventStreamClient.Event paused = before.get(before.size() - 1);
            assertThat(before).as("the slow transaction's event is not out before it commits")
                    .noneMatch(e -> e.json().get("payload").path("change").asString("").equals("state")
                            && e.json().get("payload").path("state").asString("").equals("running"));
            slow.commit();

            EventStreamClient.Event late = stream.next(Duration.ofSeconds(30));
            assertThat(late.id()).as("no SSE id: the client's resume point stays at %d", paused.id()).isEqualTo(-1);
            assertThat(late.json().get("id").asLong()).isLessThan(paused.id());
            assertThat(late.json().get("payload").get("state").asString()).isEqualTo("running");

            try (EventStreamClient resumed = events("?guest=" + guestId, Long.toString(late.json().get("id").asLong() - 1))) {
                assertThat(List.of(resumed.next(Duration.ofSeconds(30)).id(), resumed.next(Duration.ofSeconds(30)).id()))
                        .containsExactly(late.json().get("id").asLong(), paused.id());
            }
        }
        assertThat(api.get("/actuator/prometheus").body()).containsPattern("ferry_events_late_total(\\{[^}]*\\})? [1-9]");
    }

    @Test
    void progressIsPushedAtMostTwiceASecondPerJob() throws Exception {
        String guestId = createGuest("host-a", 32 * MIB);
        try (EventStreamClient stream = events("?guest=" + guestId + "&type=job-progress", null)) {
            String jobId = slowJob(guestId, "host-b");
            List<java.time.Instant> at = new java.util.ArrayList<>();
            for (int i = 0; i < 5; i++) {
                EventStreamClient.Event e = stream.next(Duration.ofSeconds(30));
                assertThat(e.name()).isEqualTo("job-progress");
                assertThat(e.json().get("jobId").asString()).isEqualTo(jobId);
                assertThat(e.json().get("payload").get("totalBytes").asLong()).isGreaterThanOrEqualTo(32 * MIB);
                at.add(java.time.Instant.parse(e.json().get("at").asString()));
            }
            for (int i = 1; i < at.size(); i++) {
                assertThat(Duration.between(at.get(i - 1), at.get(i))).as("events %d and %d", i - 1, i)
                        .isGreaterThanOrEqualTo(Duration.ofMillis(500));
            }
            api.post("/api/v1/migrations/" + jobId + "/cancel", null);
            awaitStatus(jobId, "cancelled", "failed");
        }
    }

    // ---- contract and operations ---------------------------------------------------------

    @Test
    void everyOperationInTheSpecIsServedAndNothingElse() {
        Set<String> served = new TreeSet<>();
        mappings.getHandlerMethods().keySet().forEach(info -> info.getPatternValues().stream()
                .filter(p -> p.startsWith("/api/"))
                .forEach(p -> info.getMethodsCondition().getMethods()
                        .forEach(m -> served.add(m.name() + " " + p))));
        assertThat(served).isEqualTo(new TreeSet<>(OpenApiContract.load().operations()));
    }

    @Test
    void actuatorShowsHealthWithTheDatabaseAndPrometheusMetrics() {
        ApiClient open = api.withToken(null);
        assertThat(open.get("/actuator/health/liveness").json().get("status").asString()).isEqualTo("UP");
        JsonNode readiness = open.get("/actuator/health/readiness").json();
        assertThat(readiness.get("status").asString()).isEqualTo("UP");
        assertThat(readiness.get("components").has("db")).isTrue();
        String jobId = createJob(createGuest("host-a", 16 * MIB), "host-b");
        awaitStatus(jobId, "completed");
        assertThat(open.get("/actuator/prometheus").body())
                .contains("ferry_jobs_transitions_total{")
                .contains("jvm_memory_used_bytes");
    }
}
