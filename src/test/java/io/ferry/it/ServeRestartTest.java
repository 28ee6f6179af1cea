package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The embedded default as an operator runs it: {@code ferry serve} in its own process with
 * its two local workers. It is killed and started again; workers and their guests outlive it,
 * jobs outlive it in the database, and a worker that dies is started again.
 */
class ServeRestartTest {

    private static final String TOKEN = "restart-test-token";
    private static final Duration UP = Duration.ofSeconds(90);

    private Process serve;
    private final Path dataDir = ApiTestSupport.newDataDir("restart");

    @AfterEach
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    private ApiClient start(int port) throws Exception {
        serve = FerryProcess.serve(dataDir, port, "--ferry.api.token=" + TOKEN,
                "--ferry.worker.heartbeat-interval=200ms", "--ferry.worker.heartbeat-timeout=1500ms",
                "--ferry.workers.local.memory-capacity=" + (1L << 30));
        ApiClient api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() ->
                assertThat(api.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable"));
        return api;
    }

    private long workerPid(String host) throws Exception {
        return Long.parseLong(Files.readString(dataDir.resolve("workers").resolve(host + ".pid")).strip());
    }

    @Test
    void aCompletionTimeoutThatPassesWhileTheControlPlaneIsDownStillFires() throws Exception {
        int port = FerryProcess.freePort();
        ApiClient api = start(port);
        // 16 MiB is 1/64 GiB: 768 s per GiB gives the job 12 s; at 1 MiB/s with a 10 ms limit (2 pages), a guest
        // asking for 20000 writes/s into ~200 hot pages never converges, however slow the machine
        assertThat(api.post("/api/v1/policies", Map.of("name", "bounded", "completionTimeoutPerGiB", 768,
                "maxBandwidth", 1 << 20, "downtimeLimitMs", 10, "escalation", List.of("abort"))).status())
                .isEqualTo(201);
        String guestId = api.post("/api/v1/guests", Map.of("name", "bounded", "hostId", "host-a",
                "memoryBytes", 16L << 20, "workload", Map.of("dirtyPagesPerSecond", 20000, "hotSetFraction", 0.05,
                        "seed", 3)))
                .json().get("id").asString();
        String jobId = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b"))
                .json().get("id").asString();
        ApiClient first = api;
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(first.get("/api/v1/migrations/" + jobId)
                .json().get("status").asString()).isEqualTo("active"));
        JsonNode before = api.get("/api/v1/migrations/" + jobId).json();
        java.time.Instant deadline = java.time.Instant.parse(before.get("deadlines").get("completion").asString());
        assertThat(deadline).isBetween(java.time.Instant.parse(before.get("startedAt").asString()).plusSeconds(11),
                java.time.Instant.parse(before.get("startedAt").asString()).plusSeconds(13));

        serve.destroyForcibly().waitFor();
        while (java.time.Instant.now().isBefore(deadline.plusSeconds(1))) {
            Thread.sleep(200);   // the deadline passes while nobody enforces it
        }
        api = start(port);
        java.time.Instant up = java.time.Instant.now();
        ApiClient second = api;
        JsonNode done = await().atMost(Duration.ofSeconds(20)).until(() -> second.get("/api/v1/migrations/" + jobId)
                .json(), j -> j.get("status").asString().equals("cancelled"));
        // the stored deadline was enforced, not one re-armed from the restart (that would be 12 s later)
        assertThat(done.get("deadlines").get("completion").asString()).isEqualTo(before.get("deadlines")
                .get("completion").asString());
        JsonNode escalation = null;
        for (JsonNode e : api.get("/api/v1/migrations/" + jobId + "/events").json()) {
            if (e.get("kind").asString().equals("escalation")) {
                escalation = e;
            }
        }
        assertThat(escalation).isNotNull();
        assertThat(escalation.get("reason").asString()).startsWith("not completed within 768 s per GiB")
                .endsWith("aborted: the guest stays on the source");
        assertThat(java.time.Instant.parse(escalation.get("at").asString())).isBefore(up.plusSeconds(10));
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-a");
    }

    @Test
    void guestsAndJobsOutliveAControlPlaneCrashAndWorkersAreSupervised() throws Exception {
        int port = FerryProcess.freePort();
        ApiClient api = start(port);
        String guestId = api.post("/api/v1/guests", Map.of("name", "survivor", "hostId", "host-a",
                "memoryBytes", 32L << 20, "disks", List.of(Map.of("name", "root", "sizeBytes", 4L << 20)),
                "workload", Map.of("dirtyPagesPerSecond", 500, "seed", 7))).json().get("id").asString();
        // 1 MiB/s against ~2 MB/s of dirtying: this job stays active until cancelled
        String jobId = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b",
                "parameters", Map.of("maxBandwidth", 1 << 20, "downtimeLimitMs", 20))).json().get("id").asString();
        ApiClient first = api;
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(first.get("/api/v1/migrations/" + jobId)
                .json().get("status").asString()).isEqualTo("active"));
        JsonNode eventsBefore = api.get("/api/v1/migrations/" + jobId + "/events").json();
        long workerA = workerPid("host-a");
        long workerB = workerPid("host-b");

        // kill -9 the control plane: its workers keep running with their guests
        serve.destroyForcibly().waitFor();
        assertThat(ProcessHandle.of(workerA).map(ProcessHandle::isAlive)).contains(true);

        api = start(port);
        assertThat(workerPid("host-a")).as("the running worker is adopted, not replaced").isEqualTo(workerA);
        assertThat(workerPid("host-b")).isEqualTo(workerB);
        // the migration went on without the control plane, and reports to the new one
        JsonNode job = api.get("/api/v1/migrations/" + jobId).json();
        assertThat(job.get("status").asString()).isEqualTo("active");
        assertThat(api.get("/api/v1/migrations/" + jobId + "/events").json()).isEqualTo(eventsBefore);
        long transferred = job.path("progress").path("ram").path("transferred").asLong();
        ApiClient second = api;
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(second.get("/api/v1/migrations/" + jobId)
                .json().path("progress").path("ram").path("transferred").asLong()).isGreaterThan(transferred));
        assertThat(api.post("/api/v1/migrations/" + jobId + "/cancel", null).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(second.get("/api/v1/migrations/" + jobId)
                .json().get("status").asString()).isEqualTo("cancelled"));
        assertThat(api.get("/api/v1/guests/" + guestId).json().get("hostId").asString()).isEqualTo("host-a");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(second.get("/api/v1/guests/" + guestId)
                .json().get("state").asString()).isEqualTo("running"));
        assertThat(api.get("/api/v1/guests/" + guestId + "/checksums").status()).isEqualTo(200);

        // a worker whose heartbeats stop is shown unreachable, and reachable again when they resume
        new ProcessBuilder("kill", "-STOP", Long.toString(workerA)).start().waitFor();
        ApiClient client = api;
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(client.get("/api/v1/hosts/host-a").json().get("state").asString()).isEqualTo("unreachable"));
        new ProcessBuilder("kill", "-CONT", Long.toString(workerA)).start().waitFor();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(client.get("/api/v1/hosts/host-a").json().get("state").asString()).isEqualTo("reachable"));

        // kill -9 a worker: it is started again, and the guest it held is reported lost
        ProcessHandle.of(workerA).orElseThrow().destroyForcibly();
        await().atMost(UP).ignoreExceptions().untilAsserted(() -> {
            assertThat(workerPid("host-a")).isNotEqualTo(workerA);
            assertThat(client.get("/api/v1/hosts/host-a").json().get("state").asString()).isEqualTo("reachable");
            assertThat(client.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("lost");
        });

        // a clean stop of the control plane stops its workers
        long newWorkerA = workerPid("host-a");
        serve.destroy();
        serve.waitFor();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(ProcessHandle.of(newWorkerA).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(ProcessHandle.of(workerB).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        });
    }
}
