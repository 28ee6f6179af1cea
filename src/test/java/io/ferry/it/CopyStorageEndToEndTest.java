package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.guest.DiskWritePattern;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Block migration ({@code storage: copy}) through the API between two local workers that do not
 * share storage: each has a datastore of its own, as hosts with local disks do.
 */
class CopyStorageEndToEndTest extends ApiTestSupport {

    private static Path dataDir;
    private static final int SEED = 31;

    @DynamicPropertySource
    static void separateDatastores(DynamicPropertyRegistry registry) {
        dataDir = newDataDir("copy");
        registry.add("ferry.data-dir", dataDir::toString);
        registry.add("ferry.workers.local.shared-datastore", () -> "false");
        TestDatabase.H2.register(registry, dataDir.toString());
    }

    private Path image(String host, String diskId) {
        return dataDir.resolve("datastore").resolve(host).resolve(diskId + ".img");
    }

    @Test
    void imagesAreCopiedByteExactWhileTheGuestWritesAndOwnershipFollows() {
        JsonNode hosts = api.get("/api/v1/hosts").json();
        assertThat(hosts.get(0).get("datastoreId").asString()).isNotEqualTo(hosts.get(1).get("datastoreId").asString());
        ApiClient.Reply created = api.post("/api/v1/guests", Map.of("name", "copied", "hostId", "host-a",
                "memoryBytes", 48 * MIB,
                "disks", List.of(Map.of("name", "root", "sizeBytes", 32 * MIB),
                        Map.of("name", "data", "sizeBytes", 3 * MIB + 8192)),
                "workload", Map.of("dirtyPagesPerSecond", 3000, "hotSetFraction", 0.5, "diskWritesPerSecond", 2000,
                        "seed", SEED)));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String guestId = created.json().get("id").asString();
        JsonNode disks = created.json().get("disks");   // in the guest's disk order: by name
        assertThat(disks.findValuesAsString("name")).containsExactly("data", "root");
        long[] sizes = {disks.get(0).get("sizeBytes").asLong(), disks.get(1).get("sizeBytes").asLong()};
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true);

        // shared storage is refused between hosts that do not share it, with the reason
        ApiClient.Reply shared = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("storage", "shared")));
        assertThat(shared.status()).isEqualTo(422);
        assertThat(shared.json().get("detail").asString()).contains("do not share a datastore")
                .contains("storage=copy");

        ApiClient.Reply job = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b",
                "parameters", Map.of("storage", "copy", "maxBandwidth", 0, "verifyChecksums", true)));
        assertThat(job.status()).as(job.body()).isEqualTo(202);
        String jobId = job.json().get("id").asString();
        JsonNode done = awaitStatus(jobId, "completed", "failed");
        assertThat(done.get("status").asString()).as(done.toString()).isEqualTo("completed");

        // the source's final report carries the disk figures and both sides' image digests
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode progress = api.get("/api/v1/migrations/" + jobId).json().get("progress");
            assertThat(progress.get("disk").get("remaining").asLong()).isZero();
            assertThat(progress.get("verification").get("destinationDisks").isNull()).isFalse();
        });
        JsonNode progress = api.get("/api/v1/migrations/" + jobId).json().get("progress");
        assertThat(progress.get("disk").get("total").asLong()).isEqualTo(sizes[0] + sizes[1]);
        assertThat(progress.get("disk").get("transferred").asLong()).isGreaterThanOrEqualTo(sizes[0] + sizes[1]);
        assertThat(progress.get("verification").get("destinationDisks"))
                .isEqualTo(progress.get("verification").get("sourceDisks"));

        // the guest runs on host-b, writing its own copy; host-a's stale copy is gone
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo("host-b");
        String rootId = disks.get(1).get("id").asString();
        assertThat(Files.exists(image("host-b", rootId))).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(image("host-a", rootId)));
        long acknowledged = api.get("/api/v1/guests/" + guestId + "/checksums").json()
                .get("diskWritesAcknowledged").asLong();
        await().atMost(Duration.ofSeconds(10)).until(() -> api.get("/api/v1/guests/" + guestId + "/checksums").json()
                .get("diskWritesAcknowledged").asLong() > acknowledged + 500);
        assertThat(api.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(200);
        JsonNode sums = api.get("/api/v1/guests/" + guestId + "/checksums").json();
        String[] expected = DiskWritePattern.expectedSha256(SEED, sums.get("diskWritesAcknowledged").asLong(), sizes);
        assertThat(sums.get("disks").findValuesAsString("sha256")).containsExactly(expected);

        // ownership: created on host-a (1), handed off (2), activated on host-b (3), each step naming the job
        JsonNode ownership = api.get("/api/v1/disks/" + rootId + "/ownership").json();
        assertThat(ownership.get("ownerHostId").asString()).isEqualTo("host-b");
        assertThat(ownership.get("state").asString()).isEqualTo("active");
        assertThat(ownership.get("generation").asLong()).isEqualTo(3);
        JsonNode history = ownership.get("history");
        assertThat(history.findValuesAsString("state")).containsExactly("active", "handoff", "active");
        assertThat(history.get(1).get("fromOwnerHostId").asString()).isEqualTo("host-a");
        assertThat(history.get(2).get("fromState").asString()).isEqualTo("handoff");
        assertThat(history.get(2).get("jobId").asString()).isEqualTo(jobId);
        JsonNode view = api.get("/api/v1/migrations/" + jobId).json().get("disks");
        assertThat(view.findValuesAsString("sourceSide")).containsOnly("absent");
        assertThat(view.findValuesAsString("destinationSide")).containsOnly("active");

        // and back again, still byte-exact, over the stale-copy-free datastore of host-a
        assertThat(api.post("/api/v1/guests/" + guestId + "/resume", null).status()).isEqualTo(200);
        String back = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-a",
                "parameters", Map.of("storage", "copy", "maxBandwidth", 0))).json().get("id").asString();
        assertThat(awaitStatus(back, "completed", "failed").get("status").asString()).isEqualTo("completed");
        // completed = the destination's activation won; it resumes the guest right after
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/guests/" + guestId)
                .json().get("state").asString()).isEqualTo("running"));
        assertThat(api.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(200);
        JsonNode after = api.get("/api/v1/guests/" + guestId + "/checksums").json();
        assertThat(after.get("disks").findValuesAsString("sha256")).containsExactly(DiskWritePattern.expectedSha256(
                SEED, after.get("diskWritesAcknowledged").asLong(), sizes));
        assertThat(api.get("/api/v1/disks/" + rootId + "/ownership").json().get("generation").asLong()).isEqualTo(5);
        assertThat(api.delete("/api/v1/guests/" + guestId).status()).isEqualTo(204);
    }
}
