package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.inspect.StreamInspector;
import io.ferry.inspect.StreamSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue 16, item 4, through the API: {@code POST /api/v1/guests/{id}/save} and
 * {@code POST /api/v1/guests} with {@code restoreFrom}. A mix-in for a test class that runs a
 * control plane with two local workers sharing one datastore ({@link H2ControlPlaneApiTest}).
 */
interface SaveRestoreApiTests {

    long MIB = 1L << 20;

    /** The client of the running control plane, with the API token. */
    ApiClient client();

    /** The datastore the local workers share. */
    Path datastore();

    private Map<String, Object> guestBody(String host, long memory) {
        Map<String, Object> body = new HashMap<>();
        body.put("name", "save-" + UUID.randomUUID().toString().substring(0, 8));
        body.put("hostId", host);
        body.put("memoryBytes", memory);
        body.put("disks", List.of(Map.of("name", "root", "sizeBytes", 4 * MIB), Map.of("name", "data", "sizeBytes", 2 * MIB)));
        body.put("workload", Map.of("dirtyPagesPerSecond", 4000, "hotSetFraction", 0.5, "diskWritesPerSecond", 200,
                "seed", 11));
        return body;
    }

    private String create(Map<String, Object> body) {
        ApiClient.Reply created = client().post("/api/v1/guests", body);
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    private Map<String, Object> restoreBody(String host, String file) {
        Map<String, Object> body = new HashMap<>();
        body.put("name", "restored-" + UUID.randomUUID().toString().substring(0, 8));
        body.put("hostId", host);
        body.put("restoreFrom", file);
        body.put("workload", Map.of("dirtyPagesPerSecond", 0, "hotSetFraction", 1.0, "diskWritesPerSecond", 0, "seed", 1));
        body.put("labels", Map.of("restored", "yes"));
        return body;
    }

    private static Map<String, String> diskSums(JsonNode checksums) {
        Map<String, String> sums = new HashMap<>();
        checksums.get("disks").forEach(d -> sums.put(d.get("name").asString(), d.get("sha256").asString()));
        return sums;
    }

    private int guestCount() {
        return client().get("/api/v1/guests").json().size();
    }

    private Set<String> images() throws Exception {
        try (Stream<Path> files = Files.list(datastore())) {
            Set<String> names = new HashSet<>();
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".img")).forEach(names::add);
            return names;
        }
    }

    private void assertProblem(ApiClient.Reply reply, int status) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        assertThat(reply.contentType()).as(reply.body()).startsWith("application/problem+json");
    }

    @Test
    default void aSavedGuestIsRestoredOnTheOtherHostWithItsMemoryDisksAndDeviceState() throws Exception {
        String saved = create(guestBody("host-a", 32 * MIB));
        Thread.sleep(600);   // the workload writes memory and both disks
        ApiClient.Reply save = client().post("/api/v1/guests/" + saved + "/save", Map.of());
        assertThat(save.status()).as(save.body()).isEqualTo(201);
        JsonNode s = save.json();
        String file = s.get("file").asString();
        assertThat(file).startsWith("saves/" + saved + "-").endsWith(".ferry");
        assertThat(s.get("format").asString()).isEqualTo("ferry");
        assertThat(s.get("guestId").asString()).isEqualTo(saved);
        assertThat(s.get("hostId").asString()).isEqualTo("host-a");
        assertThat(Files.size(datastore().resolve(file))).isEqualTo(s.get("bytes").asLong());
        JsonNode savedGuest = client().get("/api/v1/guests/" + saved).json();
        assertThat(savedGuest.get("state").asString()).isEqualTo("paused");
        // paused since the save: its checksums now are those at the save
        JsonNode before = client().get("/api/v1/guests/" + saved + "/checksums").json();

        ApiClient.Reply restored = client().post("/api/v1/guests", restoreBody("host-b", file));
        assertThat(restored.status()).as(restored.body()).isEqualTo(201);
        JsonNode r = restored.json();
        String restoredId = r.get("id").asString();
        assertThat(restoredId).isNotEqualTo(saved);
        assertThat(restored.header("Location")).endsWith("/api/v1/guests/" + restoredId);
        assertThat(r.get("hostId").asString()).isEqualTo("host-b");
        assertThat(r.get("state").asString()).isEqualTo("paused");
        assertThat(r.get("memoryBytes").asLong()).isEqualTo(32 * MIB);
        assertThat(r.get("deviceStateBytes").asInt()).isEqualTo(savedGuest.get("deviceStateBytes").asInt());
        assertThat(r.get("labels").get("restored").asString()).isEqualTo("yes");
        Set<String> savedDiskIds = new HashSet<>();
        savedGuest.get("disks").forEach(d -> savedDiskIds.add(d.get("id").asString()));
        assertThat(r.get("disks")).hasSize(2);
        r.get("disks").forEach(d -> {
            assertThat(savedDiskIds).doesNotContain(d.get("id").asString());
            assertThat(d.get("ownership").get("ownerHostId").asString()).isEqualTo("host-b");
            assertThat(d.get("ownership").get("state").asString()).isEqualTo("active");
            assertThat(d.get("ownership").get("generation").asLong()).isEqualTo(1);
        });

        JsonNode after = client().get("/api/v1/guests/" + restoredId + "/checksums").json();
        assertThat(after.get("memory").asString()).isEqualTo(before.get("memory").asString());
        assertThat(after.get("deviceState").asString()).isEqualTo(before.get("deviceState").asString());
        assertThat(diskSums(after)).containsOnlyKeys("root", "data").isEqualTo(diskSums(before));
        // the saved guest stays paused, untouched by the restore beside it
        assertThat(client().get("/api/v1/guests/" + saved).json().get("state").asString()).isEqualTo("paused");
        assertThat(client().get("/api/v1/guests/" + saved + "/checksums").json().get("memory").asString())
                .isEqualTo(before.get("memory").asString());

        // the restored guest runs on when resumed
        ApiClient.Reply resumed = client().post("/api/v1/guests/" + restoredId + "/resume", null);
        assertThat(resumed.status()).as(resumed.body()).isEqualTo(200);
        assertThat(resumed.json().get("state").asString()).isEqualTo("running");
        assertThat(client().delete("/api/v1/guests/" + restoredId).status()).isEqualTo(204);
        assertThat(client().delete("/api/v1/guests/" + saved).status()).isEqualTo(204);
    }

    @Test
    default void aTruncatedOrMissingFileIs422AndLeavesNoGuestDiskOrImage() throws Exception {
        String saved = create(guestBody("host-a", 16 * MIB));
        ApiClient.Reply save = client().post("/api/v1/guests/" + saved + "/save", Map.of("format", "ferry"));
        assertThat(save.status()).as(save.body()).isEqualTo(201);
        Path whole = datastore().resolve(save.json().get("file").asString());
        byte[] bytes = Files.readAllBytes(whole);
        String cut = "saves/truncated-" + UUID.randomUUID() + ".ferry";
        Files.write(datastore().resolve(cut), java.util.Arrays.copyOf(bytes, bytes.length * 2 / 3));
        int guests = guestCount();
        Set<String> images = images();

        ApiClient.Reply refused = client().post("/api/v1/guests", restoreBody("host-b", cut));
        assertProblem(refused, 422);
        String detail = refused.json().get("detail").asString();
        assertThat(detail).contains(cut).containsPattern("malformed at byte [0-9]+: \\S");
        assertThat(guestCount()).isEqualTo(guests);
        assertThat(images()).isEqualTo(images);

        ApiClient.Reply missing = client().post("/api/v1/guests", restoreBody("host-b", "saves/no-such-file.ferry"));
        assertProblem(missing, 422);
        assertThat(missing.json().get("detail").asString()).contains("saves/no-such-file.ferry");
        assertThat(guestCount()).isEqualTo(guests);
        assertThat(images()).isEqualTo(images);
        assertThat(client().delete("/api/v1/guests/" + saved).status()).isEqualTo(204);
    }

    @Test
    default void restoreFromRefusesPathsOutOfTheDatastoreAndTheLayoutFields() {
        int guests = guestCount();
        for (String path : List.of("../etc/passwd", "saves/../../x.ferry", "/etc/passwd", "saves/..")) {
            ApiClient.Reply refused = client().post("/api/v1/guests", restoreBody("host-b", path));
            assertProblem(refused, 400);
            assertThat(refused.json().get("errors").findValuesAsString("field")).as(path).containsExactly("restoreFrom");
        }
        Map<String, Object> withMemory = restoreBody("host-b", "saves/x.ferry");
        withMemory.put("memoryBytes", 16 * MIB);
        ApiClient.Reply refused = client().post("/api/v1/guests", withMemory);
        assertProblem(refused, 400);
        assertThat(refused.json().get("errors").findValuesAsString("field")).containsExactly("memoryBytes");
        Map<String, Object> withDisks = restoreBody("host-b", "saves/x.ferry");
        withDisks.put("disks", List.of());
        withDisks.put("deviceStateBytes", 4096);
        ApiClient.Reply both = client().post("/api/v1/guests", withDisks);
        assertProblem(both, 400);
        assertThat(both.json().get("detail").asString()).contains("disks").contains("deviceStateBytes");
        Map<String, Object> neither = restoreBody("host-b", "saves/x.ferry");
        neither.remove("restoreFrom");
        ApiClient.Reply noMemory = client().post("/api/v1/guests", neither);
        assertProblem(noMemory, 400);
        assertThat(noMemory.json().get("errors").findValuesAsString("field")).containsExactly("memoryBytes");
        assertThat(guestCount()).isEqualTo(guests);
    }

    @Test
    default void aQemuSaveNamesQemusPcMachineAndNeedsWholeMebibytes() throws Exception {
        String guest = create(guestBody("host-a", 16 * MIB));
        ApiClient.Reply save = client().post("/api/v1/guests/" + guest + "/save", Map.of("format", "qemu"));
        assertThat(save.status()).as(save.body()).isEqualTo(201);
        assertThat(save.json().get("format").asString()).isEqualTo("qemu");
        String file = save.json().get("file").asString();
        assertThat(file).startsWith("saves/" + guest + "-").endsWith(".qemu");
        StreamSummary summary = new StreamInspector().inspect(datastore().resolve(file), null);
        assertThat(summary.machineType()).isEqualTo("pc-i440fx-7.2");
        assertThat(summary.ramBlocks().get(0).name()).isEqualTo("pc.ram");
        assertThat(summary.ramBlocks().get(0).bytes()).isEqualTo(16 * MIB);
        assertThat(client().get("/api/v1/guests/" + guest).json().get("state").asString()).isEqualTo("paused");
        // a qemu file is no Ferry snapshot: restoring from it is refused, naming the machine
        ApiClient.Reply notOurs = client().post("/api/v1/guests", restoreBody("host-b", file));
        assertProblem(notOurs, 422);
        assertThat(notOurs.json().get("detail").asString()).contains("pc-i440fx-7.2");

        Map<String, Object> odd = guestBody("host-a", 16 * MIB + 4096);
        String oddGuest = create(odd);
        ApiClient.Reply refused = client().post("/api/v1/guests/" + oddGuest + "/save", Map.of("format", "qemu"));
        assertProblem(refused, 422);
        assertThat(refused.json().get("detail").asString()).contains("whole number of MiB");
        assertThat(client().get("/api/v1/guests/" + oddGuest).json().get("state").asString()).isEqualTo("running");
        try (Stream<Path> saves = Files.list(datastore().resolve("saves"))) {
            assertThat(saves.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(oddGuest));
        }
        ApiClient.Reply badFormat = client().post("/api/v1/guests/" + oddGuest + "/save", Map.of("format", "raw"));
        assertProblem(badFormat, 400);
        assertThat(client().delete("/api/v1/guests/" + guest).status()).isEqualTo(204);
        assertThat(client().delete("/api/v1/guests/" + oddGuest).status()).isEqualTo(204);
    }

    @Test
    default void aGuestInAMigrationIsNotSaved() throws Exception {
        Map<String, Object> body = guestBody("host-a", 16 * MIB);
        body.put("workload", Map.of("dirtyPagesPerSecond", 2000, "hotSetFraction", 1.0, "diskWritesPerSecond", 0,
                "seed", 5));
        String guest = create(body);
        // dirtying ~8 MB/s against 1 MiB/s: the job stays active until cancelled
        ApiClient.Reply job = client().post("/api/v1/migrations", Map.of("guestId", guest, "destinationHostId", "host-b",
                "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 50)));
        assertThat(job.status()).as(job.body()).isEqualTo(202);
        String jobId = job.json().get("id").asString();
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                client().get("/api/v1/migrations/" + jobId).json().get("status").asString().equals("active"));

        ApiClient.Reply refused = client().post("/api/v1/guests/" + guest + "/save", Map.of());
        assertProblem(refused, 409);
        assertThat(refused.json().get("detail").asString()).contains(jobId);
        if (Files.isDirectory(datastore().resolve("saves"))) {
            try (Stream<Path> saves = Files.list(datastore().resolve("saves"))) {
                assertThat(saves.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(guest));
            }
        }
        assertThat(client().post("/api/v1/migrations/" + jobId + "/cancel", null).status()).isBetween(200, 299);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                client().get("/api/v1/guests/" + guest).json().get("activeMigrationId").isNull());
        assertThat(client().delete("/api/v1/guests/" + guest).status()).isEqualTo(204);
    }
}
