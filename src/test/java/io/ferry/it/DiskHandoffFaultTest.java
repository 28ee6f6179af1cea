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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fault injection at every step of a disk hand-off, on shared storage (both workers open the
 * same image files): kill the source worker, kill the destination worker, kill the control
 * plane, or drop the data-plane connection while a worker holds at the step. Throughout, a
 * sampler reads both workers' fences (destination first, so a hand-off in between can never
 * look like two writers) and the ownership record. Every case must end with: never two active
 * hosts, the job {@code failed} or {@code completed}, ownership where the guest is, and — where
 * the guest survived — its images exactly what its acknowledged writes imply.
 *
 * <p>The control plane runs as its own process ({@code ferry serve}, as an operator runs it) so
 * it can be killed and started again; its workers outlive it and are adopted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiskHandoffFaultTest {

    private static final String TOKEN = "fault-test-token";
    private static final String WORKER_TOKEN = "fault-test-worker-token";
    private static final long MIB = 1L << 20;
    private static final long DISK_BYTES = 8 * MIB;
    private static final int SEED = 23;
    private static final Duration UP = Duration.ofSeconds(90);

    private final Path dataDir = ApiTestSupport.newDataDir("faults");
    private final Path faults = dataDir.resolve("faults");
    private final Path reached = dataDir.resolve("faults.reached");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private final JsonMapper json = JsonMapper.builder().build();
    private int port;
    private Process serve;
    private volatile ApiClient api;
    /** Last known control addresses of the workers, kept while the control plane is down. */
    private final Map<String, String> controlAddresses = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        port = FerryProcess.freePort();
        startServe();
    }

    @AfterAll
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    private void startServe() throws IOException {
        serve = FerryProcess.serve(dataDir, port, "--ferry.api.token=" + TOKEN,
                "--ferry.worker.token=" + WORKER_TOKEN,
                "--ferry.worker.heartbeat-interval=200ms", "--ferry.worker.heartbeat-timeout=1500ms",
                "--ferry.worker.handoff-timeout=3s",
                "--ferry.dispatcher.setup-timeout=15s",
                "--ferry.workers.local.memory-capacity=" + (1L << 30),
                "--ferry.workers.local.java-options=-Xmx128m -Dferry.fault.file=" + faults);
        ApiClient client = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() ->
                assertThat(client.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable"));
        api = client;
    }

    enum Fault { KILL_SOURCE, KILL_DESTINATION, STOP_CONTROL_PLANE, DROP_CONNECTION }

    /** Steps with the side that reaches them. */
    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (String step : List.of("destination-opened", "source-inactivated", "handoff-recorded",
                "destination-activated")) {
            for (Fault fault : Fault.values()) {
                cases.add(Arguments.of(step, fault));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{1} at {0}")
    @MethodSource("cases")
    void theSingleWriterRuleHolds(String step, Fault fault) throws Exception {
        hostsUp();
        String source = Math.abs((step + fault).hashCode()) % 2 == 0 ? "host-a" : "host-b";
        String destination = source.equals("host-a") ? "host-b" : "host-a";
        String atHost = step.startsWith("destination") ? destination : source;
        String guestId = api.post("/api/v1/guests", Map.of("name", "fault-" + step, "hostId", source,
                "memoryBytes", 32 * MIB, "disks", List.of(Map.of("name", "root", "sizeBytes", DISK_BYTES)),
                "workload", Map.of("dirtyPagesPerSecond", 2000, "diskWritesPerSecond", 500, "seed", SEED)))
                .json().get("id").asString();
        String diskId = api.get("/api/v1/guests/" + guestId).json().get("disks").get(0).get("id").asString();
        await().pollDelay(Duration.ofMillis(500)).until(() -> true);

        Files.deleteIfExists(reached);
        String action = fault == Fault.DROP_CONNECTION ? "drop" : "hold:3000";
        Files.writeString(faults, atHost + " " + step + " " + action + "\n");
        Sampler sampler = new Sampler(diskId, source, destination);
        sampler.start();
        String jobId;
        try {
            jobId = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", destination,
                    "parameters", Map.of("maxBandwidth", 0, "downtimeLimitMs", 300))).json().get("id").asString();
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(reached)
                    && Files.readString(reached).contains(step));
            Files.delete(faults);   // one fault per case: restarted workers and retries run clean
            String killed = fault == Fault.KILL_SOURCE ? source : fault == Fault.KILL_DESTINATION ? destination : null;
            String registeredBefore = killed == null ? null
                    : api.get("/api/v1/hosts/" + killed).json().get("registeredAt").asString();
            switch (fault) {
                case KILL_SOURCE -> kill(source);
                case KILL_DESTINATION -> kill(destination);
                case STOP_CONTROL_PLANE -> {
                    serve.destroyForcibly().waitFor();
                    Thread.sleep(5_000);    // beyond the workers' 3 s hand-off timeout
                    startServe();
                }
                case DROP_CONNECTION -> { }   // the worker at the step closed it
            }
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(api.get("/api/v1/migrations/" + jobId).json().get("status")
                            .asString()).isIn("failed", "completed"));
            if (killed != null) {   // the launcher starts a new worker process for the killed host
                await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> !api.get(
                        "/api/v1/hosts/" + killed).json().get("registeredAt").asString().equals(registeredBefore));
            }
            hostsUp();
            // the outcome settles: the guest runs (or is paused) where it ended up, or was lost with a worker
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .untilAsserted(() -> {
                        assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString())
                                .isIn("running", "paused", "lost");
                        assertThat(api.get("/api/v1/migrations/" + jobId).json().get("status").asString())
                                .isIn("completed", "failed", "cancelled");
                        assertThat(fences(diskId).values()).doesNotContainNull();
                    });
        } finally {
            sampler.stop();
            Files.deleteIfExists(faults);
        }
        assertThat(sampler.violations).as("samples with two writers").isEmpty();
        assertThat(sampler.samples.get()).isGreaterThan(10);

        JsonNode job = api.get("/api/v1/migrations/" + jobId).json();
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        String where = guest.get("hostId").asString();
        String report = job.get("status").asString() + " (" + job.get("statusReason").asString() + "); guest "
                + guest.get("state").asString() + " on " + where + "; ownership " + ownership;
        Map<String, Long> fences = fences(diskId);
        System.out.printf("fault case %-22s %-18s -> job %s, guest %s on %s, disk %s on %s at generation %d, "
                        + "%d samples%n", step, fault, job.get("status").asString(), guest.get("state").asString(), where,
                ownership.get("state").asString(), ownership.get("ownerHostId").asString(),
                ownership.get("generation").asLong(), sampler.samples.get());
        if (guest.get("state").asString().equals("lost")) {
            // the worker that held it died: nobody runs it, and nobody may write its image
            assertThat(fences.values()).as(report).allMatch(g -> g == 0);
        } else {
            assertThat(ownership.get("state").asString()).as(report).isEqualTo("active");
            assertThat(ownership.get("ownerHostId").asString()).as(report).isEqualTo(where);
            assertThat(fences).as(report).containsEntry(where, ownership.get("generation").asLong());
            assertThat(fences.getOrDefault(where.equals("host-a") ? "host-b" : "host-a", 0L)).as(report).isZero();
            assertThat(job.get("status").asString()).as(report)
                    .isEqualTo(where.equals(destination) ? "completed" : "failed");
            // no acknowledged write is lost, none refused was applied: the image is exactly what they imply
            if (guest.get("state").asString().equals("running")) {
                assertThat(api.post("/api/v1/guests/" + guestId + "/pause", null).status()).isEqualTo(200);
            }
            JsonNode sums = api.get("/api/v1/guests/" + guestId + "/checksums").json();
            assertThat(sums.get("disks").get(0).get("sha256").asString()).as(report).isEqualTo(DiskWritePattern
                    .expectedSha256(SEED, sums.get("diskWritesAcknowledged").asLong(), new long[] {DISK_BYTES})[0]);
            assertThat(sums.get("diskWritesAcknowledged").asLong()).isGreaterThan(0);
        }
        // the history explains every change: each step names its job, and generations only grow
        JsonNode history = ownership.get("history");
        for (int i = 1; i < history.size(); i++) {
            assertThat(history.get(i).get("generation").asLong()).isEqualTo(history.get(i - 1).get("generation")
                    .asLong() + 1);
            assertThat(history.get(i).get("jobId").asString()).isEqualTo(jobId);
        }
        if (!guest.get("state").asString().equals("lost")) {
            assertThat(api.delete("/api/v1/guests/" + guestId).status()).isEqualTo(204);
        }
    }

    private void hostsUp() {
        await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
            JsonNode hosts = api.get("/api/v1/hosts").json();
            assertThat(hosts.findValuesAsString("state")).containsExactly("reachable", "reachable");
            for (JsonNode host : hosts) {
                controlAddresses.put(host.get("id").asString(), host.get("controlAddress").asString());
            }
        });
    }

    private void kill(String host) throws IOException {
        long pid = Long.parseLong(Files.readString(dataDir.resolve("workers").resolve(host + ".pid")).strip());
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** Each worker's fence for the disk: the generation it holds it active at, 0 when inactive or absent. */
    private Map<String, Long> fences(String diskId) {
        Map<String, Long> fences = new HashMap<>();
        for (String host : List.of("host-a", "host-b")) {
            fences.put(host, fence(host, diskId));
        }
        return fences;
    }

    /** Null when the worker did not answer. */
    private Long fence(String host, String diskId) {
        String address = controlAddresses.get(host);
        if (address == null) {
            return null;
        }
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://" + address + "/v1/status"))
                    .timeout(Duration.ofSeconds(1)).header("Authorization", "Bearer " + WORKER_TOKEN).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return null;
            }
            long generation = 0;
            for (JsonNode disk : json.readTree(response.body()).get("disks")) {
                if (disk.get("diskId").asString().equals(diskId)) {
                    generation = Math.max(generation, disk.get("activeGeneration").asLong());
                }
            }
            return generation;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Samples the fences every few milliseconds, destination before source: a hand-off inactivates
     * the source before anyone can activate the destination, so two active answers in this order
     * mean two writers at once. A host seen active at generation g must also never be contradicted
     * by a later record at the same generation naming another owner.
     */
    private final class Sampler {
        final String diskId;
        final String source;
        final String destination;
        final List<String> violations = new CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicLong samples = new java.util.concurrent.atomic.AtomicLong();
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread thread = new Thread(this::run, "fence-sampler");

        Sampler(String diskId, String source, String destination) {
            this.diskId = diskId;
            this.source = source;
            this.destination = destination;
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join();
        }

        private void run() {
            while (running.get()) {
                Long atDestination = fence(destination, diskId);
                Long atSource = fence(source, diskId);
                samples.incrementAndGet();
                if (atDestination != null && atSource != null && atDestination > 0 && atSource > 0) {
                    violations.add("both active: " + destination + "@" + atDestination + ", " + source + "@"
                            + atSource);
                }
                checkRecord(destination, atDestination);
                checkRecord(source, atSource);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private void checkRecord(String host, Long generation) {
            if (generation == null || generation == 0) {
                return;
            }
            try {
                JsonNode record = api.get("/api/v1/disks/" + diskId + "/ownership").json();
                long recorded = record.get("generation").asLong();
                if (recorded < generation) {
                    violations.add(host + " writes at generation " + generation + " ahead of the record " + record);
                } else if (recorded == generation && !(record.get("state").asString().equals("active")
                        && record.get("ownerHostId").asString().equals(host))) {
                    violations.add(host + " writes at generation " + generation + " the record gives to "
                            + record);
                }
            } catch (RuntimeException controlPlaneDown) {
                // nothing to compare with while the control plane is down
            }
        }
    }
}
