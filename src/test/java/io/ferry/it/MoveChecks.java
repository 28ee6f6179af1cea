package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** What a user relies on after a move that went through control-plane failures, checked over the API. */
final class MoveChecks {

    private MoveChecks() {
    }

    /** A guest whose workload outruns a 1 MiB/s link: its job stays active until its limits are lifted. */
    static String busyGuest(ApiClient api, String name, String host, long memoryBytes) {
        ApiClient.Reply created = api.post("/api/v1/guests", Map.of("name", name, "hostId", host,
                "memoryBytes", memoryBytes, "disks", List.of(Map.of("name", "root", "sizeBytes", 4L << 20)),
                "workload", Map.of("dirtyPagesPerSecond", 20000, "hotSetFraction", 0.05, "seed", name.hashCode())));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    static String migrate(ApiClient api, String guestId, String destination, Map<String, Object> parameters) {
        ApiClient.Reply created = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", destination, "parameters", parameters));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        return created.json().get("id").asString();
    }

    static JsonNode awaitStatus(ApiClient api, String jobId, Duration within, String... statuses) {
        List<String> wanted = List.of(statuses);
        return await().atMost(within).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> api.get("/api/v1/migrations/" + jobId).json(),
                        j -> wanted.contains(j.get("status").asString()));
    }

    /** Lets a held-back job finish: unlimited bandwidth and a downtime limit it can meet. */
    static void release(ApiClient api, String jobId) {
        ApiClient.Reply tuned = api.patch("/api/v1/migrations/" + jobId, Map.of("maxBandwidth", 0,
                "downtimeLimitMs", 2000));
        assertThat(tuned.status()).as(tuned.body()).isEqualTo(200);
    }

    static List<String> transitions(ApiClient api, String jobId) {
        List<String> to = new ArrayList<>();
        for (JsonNode e : api.get("/api/v1/migrations/" + jobId + "/events").json()) {
            if (e.get("kind").asString().equals("transition")) {
                to.add(e.get("to").asString());
            }
        }
        return to;
    }

    /**
     * The job completed as if nothing had happened: never failed, the guest runs on the
     * destination, its disk is the destination's, and (where the job verified) the destination's
     * memory, device state and disk digests equal the source's.
     */
    static void assertLanded(ApiClient api, String jobId, String guestId, String destination) {
        JsonNode job = awaitStatus(api, jobId, Duration.ofSeconds(90), "completed", "failed", "cancelled");
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("completed");
        assertThat(transitions(api, jobId)).doesNotContain("failed", "cancelled", "cancelling");
        JsonNode verification = job.get("progress").get("verification");
        if (verification != null && !verification.isNull()) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/"
                    + jobId).json().get("progress").get("verification").get("destinationMemory").isNull()).isFalse());
            JsonNode v = api.get("/api/v1/migrations/" + jobId).json().get("progress").get("verification");
            assertThat(v.get("destinationMemory").asString()).isEqualTo(v.get("sourceMemory").asString());
            assertThat(v.get("destinationDeviceState").asString()).isEqualTo(v.get("sourceDeviceState").asString());
            assertThat(v.get("destinationDisks")).isEqualTo(v.get("sourceDisks"));
        }
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo(destination);
        String diskId = guest.get("disks").get(0).get("id").asString();
        assertThat(api.get("/api/v1/disks/" + diskId + "/ownership").json().get("ownerHostId").asString())
                .isEqualTo(destination);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("running"));
    }
}
