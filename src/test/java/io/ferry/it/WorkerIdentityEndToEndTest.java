package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Workers prove who they are (issue 12, item 3), against {@code ferry serve} in its own process
 * with its two local workers: a forger holding the bootstrap token, or a credential of its own
 * host, is refused for another host's heartbeat, job report, hand-off step and guests; a
 * re-registration replaces a credential; a revoked worker registers again by itself (or is kept
 * out for good); a worker killed and started again re-registers and migrates.
 */
class WorkerIdentityEndToEndTest {

    private static final String TOKEN = "identity-test-token";
    private static final String BOOTSTRAP = "identity-test-worker-token";
    private static final Duration UP = Duration.ofSeconds(90);

    private final Path dataDir = ApiTestSupport.newDataDir("identity");
    private final HttpClient http = HttpClient.newHttpClient();
    private final JsonMapper json = JsonMapper.builder().build();
    private Process serve;
    private String base;

    @AfterEach
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    private ApiClient start() throws Exception {
        int port = FerryProcess.freePort();
        base = "http://127.0.0.1:" + port;
        serve = FerryProcess.serve(dataDir, port, "--ferry.api.token=" + TOKEN, "--ferry.worker.token=" + BOOTSTRAP,
                "--ferry.worker.heartbeat-interval=200ms", "--ferry.worker.heartbeat-timeout=1500ms",
                "--ferry.workers.local.memory-capacity=" + (1L << 30));
        ApiClient api = new ApiClient(base, TOKEN);
        await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() ->
                assertThat(api.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable"));
        return api;
    }

    /** A control-channel request as a forger sends it: a plain HTTP client with whatever token it holds. */
    private HttpResponse<String> internal(String method, String path, String token, Object body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json");
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Map<String, Object> registration(String instance, List<Map<String, Object>> guests) {
        return Map.of("workerInstance", instance, "controlAddress", "127.0.0.1:9", "dataAddress", "127.0.0.1:9",
                "memoryCapacityBytes", 1L << 30, "cpus", 1, "datastoreId", "forged", "guests", guests);
    }

    private String register(String hostId, String instance, String token) throws Exception {
        HttpResponse<String> reply = internal("PUT", "/internal/v1/workers/" + hostId, token,
                registration(instance, List.of()));
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        JsonNode credential = json.readTree(reply.body());
        assertThat(credential.get("hostId").asString()).isEqualTo(hostId);
        assertThat(credential.get("credential").asString()).startsWith("fwc_");
        return credential.get("credential").asString();
    }

    private int heartbeat(String hostId, String instance, String token, List<Map<String, Object>> guests)
            throws Exception {
        return internal("POST", "/internal/v1/workers/" + hostId + "/heartbeat", token,
                Map.of("workerInstance", instance, "guests", guests)).statusCode();
    }

    private static Map<String, Object> guestReport(String guestId) {
        return Map.of("guestId", guestId, "state", "running", "memoryBytes", 32L << 20, "stateSeq", 1_000_000,
                "workerInstance", "forged");
    }

    private String registeredAt(ApiClient api, String host) {
        return api.get("/api/v1/hosts/" + host).json().path("registeredAt").asString();
    }

    private long workerPid(String host) throws Exception {
        return Long.parseLong(Files.readString(dataDir.resolve("workers").resolve(host + ".pid")).strip());
    }

    @Test
    void aForgerIsRefusedAndRealWorkersKeepWorkingThroughRevocationAndRestart() throws Exception {
        ApiClient api = start();
        String guestId = api.post("/api/v1/guests", Map.of("name", "held", "hostId", "host-a",
                "memoryBytes", 32L << 20, "disks", List.of(Map.of("name", "root", "sizeBytes", 4L << 20)),
                "workload", Map.of("dirtyPagesPerSecond", 500, "seed", 7))).json().get("id").asString();
        // 1 MiB/s against ~2 MB/s of dirtying: this job stays active until cancelled
        String jobId = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b",
                "parameters", Map.of("maxBandwidth", 1 << 20, "downtimeLimitMs", 20))).json().get("id").asString();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().get("status").asString()).isEqualTo("active"));
        String hostAInstance = "whatever-instance";   // refused before the instance matters

        // the forger enrols as a host of its own with the bootstrap token
        String forged = register("host-forger", "forger-1", BOOTSTRAP);
        assertThat(heartbeat("host-forger", "forger-1", forged, List.of())).isEqualTo(204);

        // heartbeats for another host: with the forger's credential, the bootstrap token, or nothing valid
        assertThat(heartbeat("host-a", hostAInstance, forged, List.of())).isEqualTo(403);
        assertThat(heartbeat("host-a", hostAInstance, BOOTSTRAP, List.of())).isEqualTo(403);
        assertThat(heartbeat("host-a", hostAInstance, "fwc_" + "x".repeat(43), List.of())).isEqualTo(401);
        assertThat(heartbeat("host-a", hostAInstance, null, List.of())).isEqualTo(401);
        // its own heartbeat, claiming host-a's guest
        assertThat(heartbeat("host-forger", "forger-1", forged, List.of(guestReport(guestId)))).isEqualTo(403);
        // a registration for host-a with the forger's credential
        assertThat(internal("PUT", "/internal/v1/workers/host-a", forged, registration("forger-2", List.of()))
                .statusCode()).isEqualTo(403);
        // a registration of its own, claiming host-a's guest
        assertThat(internal("PUT", "/internal/v1/workers/host-forger", BOOTSTRAP,
                registration("forger-1", List.of(guestReport(guestId)))).statusCode()).isEqualTo(403);

        // a report on a job between host-a and host-b
        Map<String, Object> failed = Map.of("jobId", jobId, "phase", "failed", "reason", "forged failure");
        String report = "/internal/v1/migrations/" + jobId + "/reports";
        assertThat(internal("POST", report, forged, failed).statusCode()).isEqualTo(403);
        assertThat(internal("POST", report, BOOTSTRAP, failed).statusCode()).isEqualTo(403);

        // hand-off steps of that job, naming itself or the real source
        String ownership = "/internal/v1/migrations/" + jobId + "/ownership";
        for (String claimed : List.of("host-forger", "host-a", "host-b")) {
            Map<String, Object> step = Map.of("step", "handoff", "hostId", claimed, "disks", List.of());
            assertThat(internal("POST", ownership, forged, step).statusCode()).as(claimed).isEqualTo(403);
            assertThat(internal("POST", ownership, BOOTSTRAP, step).statusCode()).as(claimed).isEqualTo(403);
        }
        assertThat(internal("GET", ownership, forged, null).statusCode()).isEqualTo(403);

        // none of it changed anything: the job still runs, the guest is where it was
        assertThat(api.get("/api/v1/migrations/" + jobId).json().get("status").asString()).isEqualTo("active");
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-a");

        // registering again replaces the credential: the old one stops working, on the spot
        String forgedAgain = register("host-forger", "forger-2", BOOTSTRAP);
        assertThat(forgedAgain).isNotEqualTo(forged);
        assertThat(heartbeat("host-forger", "forger-2", forged, List.of())).isEqualTo(401);
        assertThat(heartbeat("host-forger", "forger-2", forgedAgain, List.of())).isEqualTo(204);

        // revoked for good: the credential stops working and registration is refused, until lifted
        assertThat(api.post("/api/v1/hosts/host-forger/revoke-credential", Map.of("refuseRegistration", true))
                .status()).isEqualTo(200);
        assertThat(heartbeat("host-forger", "forger-2", forgedAgain, List.of())).isEqualTo(401);
        assertThat(internal("PUT", "/internal/v1/workers/host-forger", BOOTSTRAP, registration("forger-3", List.of()))
                .statusCode()).isEqualTo(403);
        assertThat(api.post("/api/v1/hosts/host-forger/revoke-credential", Map.of("refuseRegistration", false))
                .status()).isEqualTo(200);
        String lifted = register("host-forger", "forger-3", BOOTSTRAP);
        assertThat(heartbeat("host-forger", "forger-3", lifted, List.of())).isEqualTo(204);
        assertThat(api.post("/api/v1/hosts/host-nobody/revoke-credential", null).status()).isEqualTo(404);

        // a real worker whose credential is revoked registers again by itself and goes on reporting
        String registeredAt = registeredAt(api, "host-a");
        assertThat(api.post("/api/v1/hosts/host-a/revoke-credential", null).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode host = api.get("/api/v1/hosts/host-a").json();
            assertThat(host.get("state").asString()).isEqualTo("reachable");
            assertThat(java.time.Instant.parse(host.get("lastHeartbeatAt").asString()))
                    .isAfter(java.time.Instant.now().minusSeconds(1));
        });
        assertThat(registeredAt(api, "host-a")).as("the same worker process, not a new one").isEqualTo(registeredAt);
        long transferred = api.get("/api/v1/migrations/" + jobId).json().path("progress").path("ram")
                .path("transferred").asLong();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().path("progress").path("ram").path("transferred").asLong()).isGreaterThan(transferred));
        assertThat(api.post("/api/v1/migrations/" + jobId + "/cancel", null).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId)
                .json().get("status").asString()).isEqualTo("cancelled"));

        // a worker killed and started again registers (new instance, new credential) and migrates
        long workerA = workerPid("host-a");
        ProcessHandle.of(workerA).orElseThrow().destroyForcibly();
        await().atMost(UP).ignoreExceptions().untilAsserted(() -> {
            assertThat(workerPid("host-a")).isNotEqualTo(workerA);
            assertThat(api.get("/api/v1/hosts/host-a").json().get("state").asString()).isEqualTo("reachable");
            assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("lost");
        });
        String fresh = api.post("/api/v1/guests", Map.of("name", "fresh", "hostId", "host-a",
                "memoryBytes", 16L << 20, "disks", List.of(Map.of("name", "root", "sizeBytes", 4L << 20)),
                "workload", Map.of("dirtyPagesPerSecond", 100, "seed", 9))).json().get("id").asString();
        String move = api.post("/api/v1/migrations", Map.of("guestId", fresh, "destinationHostId", "host-b"))
                .json().get("id").asString();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + move)
                .json().get("status").asString()).isEqualTo("completed"));
        assertThat(api.get("/api/v1/guests/" + fresh).json().get("hostId").asString()).isEqualTo("host-b");

        String log = Files.readString(dataDir.resolve("serve.log"));
        assertThat(log).contains("refused heartbeat of host host-a by worker:host-forger")
                .contains("refused report on job " + jobId + " by worker:host-forger")
                .doesNotContain(forged).doesNotContain(forgedAgain);
    }
}
