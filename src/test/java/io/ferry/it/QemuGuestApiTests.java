package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.contract.OpenApiContract;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue 16, item 1, through a real {@code serve} and its local workers: a {@code qemu} guest is a
 * real QEMU process, created, paused, checksummed, resumed and deleted through the API, and
 * refused (422, no job recorded) as a migration. A mix-in for a test class that runs a control
 * plane ({@link H2ControlPlaneApiTest}) whose workers have QEMU (.ci/run installs it).
 */
interface QemuGuestApiTests {

    long MEBIBYTE = 1L << 20;

    /** The client of the running control plane, with the API token. */
    ApiClient client();

    private static void assertProblem(ApiClient.Reply reply, int status) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        assertThat(reply.contentType()).as(reply.body()).startsWith("application/problem+json");
        assertThat(OpenApiContract.shared().violations("Problem", reply.body())).as(reply.body()).isEmpty();
    }

    private Map<String, Object> qemuGuest(String name) {
        Map<String, Object> body = new HashMap<>();
        body.put("name", name);
        body.put("hostId", "host-a");
        body.put("runtime", "qemu");
        body.put("memoryBytes", 64 * MEBIBYTE);
        body.put("disks", List.of(Map.of("name", "root", "sizeBytes", 8 * MEBIBYTE)));
        return body;
    }

    @Test
    default void aQemuGuestIsCreatedPausedChecksummedResumedAndDeletedThroughTheApi() {
        JsonNode hostA = client().get("/api/v1/hosts/host-a").json();
        JsonNode qemu = null;
        for (JsonNode runtime : hostA.get("runtimes")) {
            if (runtime.get("runtime").asString().equals("qemu")) {
                qemu = runtime;
            }
        }
        assertThat(qemu).as("host-a reports the qemu runtime: %s", hostA).isNotNull();
        assertThat(qemu.get("available").asBoolean()).as("QEMU on host-a: %s", qemu).isTrue();
        assertThat(qemu.get("detail").asString()).contains("QEMU emulator version");

        ApiClient.Reply created = client().post("/api/v1/guests", qemuGuest("qemu-api"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        JsonNode guest = created.json();
        String id = guest.get("id").asString();
        try {
            assertThat(guest.get("runtime").asString()).isEqualTo("qemu");
            assertThat(guest.get("state").asString()).isEqualTo("running");
            assertThat(guest.get("failure").isNull()).isTrue();
            assertThat(guest.get("memoryBytes").asLong()).isEqualTo(64 * MEBIBYTE);
            assertThat(guest.get("ramBlocks")).hasSize(1);
            assertThat(guest.get("ramBlocks").get(0).get("name").asString()).isEqualTo("pc.ram");
            assertThat(client().get("/api/v1/guests/" + id).json().get("runtime").asString()).isEqualTo("qemu");

            ApiClient.Reply paused = client().post("/api/v1/guests/" + id + "/pause", Map.of());
            assertThat(paused.status()).as(paused.body()).isEqualTo(200);
            assertThat(paused.json().get("state").asString()).isEqualTo("paused");

            ApiClient.Reply first = client().get("/api/v1/guests/" + id + "/checksums");
            ApiClient.Reply second = client().get("/api/v1/guests/" + id + "/checksums");
            assertThat(first.status()).as(first.body()).isEqualTo(200);
            assertThat(second.status()).as(second.body()).isEqualTo(200);
            assertThat(second.json().get("memory")).isEqualTo(first.json().get("memory"));
            assertThat(second.json().get("disks")).isEqualTo(first.json().get("disks"));
            assertThat(first.json().get("ramBlocks").get(0).get("name").asString()).isEqualTo("pc.ram");
            assertThat(first.json().get("ramBlocks").get(0).get("sha256")).isEqualTo(first.json().get("memory"));
            assertThat(first.json().get("disks")).hasSize(1);

            assertProblem(client().post("/api/v1/guests/" + id + "/dirty-rate", Map.of()), 422);

            // no migration of a qemu guest yet: 422, and no job record left behind
            ApiClient.Reply migrate = client().post("/api/v1/migrations",
                    Map.of("guestId", id, "destinationHostId", "host-b"));
            assertProblem(migrate, 422);
            assertThat(migrate.json().get("detail").asString())
                    .contains("migration of qemu guests is not supported yet");
            assertThat(client().get("/api/v1/migrations?guestId=" + id).json().get("items")).isEmpty();
            assertThat(client().get("/api/v1/guests/" + id).json().get("activeMigrationId").isNull()).isTrue();

            ApiClient.Reply resumed = client().post("/api/v1/guests/" + id + "/resume", Map.of());
            assertThat(resumed.status()).as(resumed.body()).isEqualTo(200);
            assertThat(resumed.json().get("state").asString()).isEqualTo("running");
        } finally {
            ApiClient.Reply deleted = client().delete("/api/v1/guests/" + id);
            assertThat(deleted.status()).as(deleted.body()).isEqualTo(204);
        }
        assertThat(client().get("/api/v1/guests/" + id).status()).isEqualTo(404);
    }

    @Test
    default void aQemuProcessThatDiesUnderItsWorkerLeavesItsGuestFailedWithTheReason() {
        ApiClient.Reply created = client().post("/api/v1/guests", qemuGuest("qemu-killed"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = created.json().get("id").asString();
        // the worker names each QEMU after its host, datastore and guest (-name guest=ferry:<host>@<store>:<id>)
        ProcessHandle qemu = ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(args -> List.of(args).stream()
                        .anyMatch(a -> a.startsWith("guest=ferry:host-a@") && a.endsWith(":" + id))).orElse(false))
                .findFirst().orElseThrow(() -> new AssertionError("no QEMU process named for guest " + id));
        assertThat(qemu.destroyForcibly()).isTrue();

        JsonNode[] failed = new JsonNode[1];
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() -> {
            failed[0] = client().get("/api/v1/guests/" + id).json();
            assertThat(failed[0].get("state").asString()).isEqualTo("failed");
        });
        assertThat(failed[0].get("failure").asString()).contains("exited unexpectedly").contains("code 137")
                .contains("pid " + qemu.pid());
        assertProblem(client().post("/api/v1/guests/" + id + "/pause", Map.of()), 409);
        assertProblem(client().get("/api/v1/guests/" + id + "/checksums"), 409);
        ApiClient.Reply deleted = client().delete("/api/v1/guests/" + id);
        assertThat(deleted.status()).as(deleted.body()).isEqualTo(204);
    }

    @Test
    default void aQemuGuestTakesNoneOfASyntheticGuestsParts() {
        Map<String, Object> withWorkload = qemuGuest("qemu-workload");
        withWorkload.put("workload", Map.of("dirtyPagesPerSecond", 10));
        ApiClient.Reply refused = client().post("/api/v1/guests", withWorkload);
        assertProblem(refused, 400);
        assertThat(refused.body()).contains("workload");

        Map<String, Object> oddMemory = qemuGuest("qemu-odd");
        oddMemory.put("memoryBytes", 64 * MEBIBYTE + 4096);
        ApiClient.Reply odd = client().post("/api/v1/guests", oddMemory);
        assertProblem(odd, 400);
        assertThat(odd.body()).contains("memoryBytes");

        Map<String, Object> unknown = qemuGuest("qemu-unknown");
        unknown.put("runtime", "xen");
        assertProblem(client().post("/api/v1/guests", unknown), 400);
    }
}
