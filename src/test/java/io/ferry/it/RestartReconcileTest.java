package io.ferry.it;

import static io.ferry.it.MoveChecks.assertLanded;
import static io.ferry.it.MoveChecks.awaitStatus;
import static io.ferry.it.MoveChecks.busyGuest;
import static io.ferry.it.MoveChecks.migrate;
import static io.ferry.it.MoveChecks.release;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * kill -9 of the only control plane in each phase of a job, then a start: every job is
 * settled from the facts and ends as if nothing had happened (completed, the guest on the
 * destination with the destination's disks and identical bytes), never failed because the
 * control plane was gone. Phases: queued and active (one kill), setup (the destination
 * prepared, the source's start command never sent), the disk hand-off (between the source's
 * hand-off record and the destination's activation), and post-copy.
 */
class RestartReconcileTest {

    private static final String TOKEN = "reconcile-test-token";
    private static final Duration UP = Duration.ofSeconds(90);
    private static final long MIB = 1L << 20;

    private final Path dataDir = ApiTestSupport.newDataDir("reconcile");
    private final Path faults = dataDir.resolve("faults");
    private final Path reached = dataDir.resolve("faults.reached");
    private Process serve;
    private int port;

    @AfterEach
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    private ApiClient start() throws Exception {
        serve = FerryProcess.serve(dataDir, port, "--ferry.api.token=" + TOKEN,
                "--ferry.worker.heartbeat-interval=200ms", "--ferry.worker.heartbeat-timeout=1500ms",
                "--ferry.workers.local.memory-capacity=" + (1L << 30),
                // shorter than the outage below: a restarted control plane must not count the outage against a job
                "--ferry.dispatcher.setup-timeout=8s",
                "--ferry.workers.local.java-options=-Xmx128m -Dferry.fault.file=" + faults);
        ApiClient api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        await().atMost(UP).pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() ->
                assertThat(api.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable"));
        return api;
    }

    private ApiClient killAndStart() throws Exception {
        serve.destroyForcibly().waitFor();
        return start();
    }

    /** The job failed for a cause of the data plane, not the restart; the guest runs on its source, which owns its disk. */
    private static void assertFailedBack(ApiClient api, String jobId, String guestId, String source) {
        JsonNode job = awaitStatus(api, jobId, Duration.ofSeconds(90), "completed", "failed", "cancelled");
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("failed");
        assertThat(job.get("failure").asString()).as(job.toString())
                .doesNotContain("unreachable", "restarted", "setup did not finish", "could not start");
        JsonNode guest = api.get("/api/v1/guests/" + guestId).json();
        assertThat(guest.get("hostId").asString()).isEqualTo(source);
        String diskId = guest.get("disks").get(0).get("id").asString();
        JsonNode ownership = api.get("/api/v1/disks/" + diskId + "/ownership").json();
        assertThat(ownership.get("ownerHostId").asString()).as(ownership.toString()).isEqualTo(source);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(api.get("/api/v1/guests/" + guestId).json().get("state").asString()).isEqualTo("running"));
    }

    /** Waits until a worker reached a fault step (it holds there), then clears the rule for the rest of the test. */
    private void awaitFault(String hostAndStep) throws Exception {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() ->
                Files.exists(reached) && Files.readString(reached).contains(hostAndStep));
        Files.delete(faults);
        Files.delete(reached);
    }

    @Test
    void aControlPlaneKilledInEachPhaseOfAJobSettlesItFromTheFacts() throws Exception {
        port = FerryProcess.freePort();
        ApiClient api = start();

        // queued and active: one job runs (held back by its link), one waits for the cluster limit
        String runningGuest = busyGuest(api, "r-active", "host-a", 32 * MIB);
        String queuedGuest = busyGuest(api, "r-queued", "host-a", 32 * MIB);
        assertThat(api.put("/api/v1/admission/limits", Map.of("maxJobs", 1)).status()).isEqualTo(200);
        String active = migrate(api, runningGuest, "host-b", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 10,
                "verifyChecksums", true));
        awaitStatus(api, active, Duration.ofSeconds(30), "active");
        String queued = migrate(api, queuedGuest, "host-b", Map.of("verifyChecksums", true));
        assertThat(api.get("/api/v1/migrations/" + queued).json().get("status").asString()).isEqualTo("queued");
        api = killAndStart();
        assertThat(api.get("/api/v1/migrations/" + active).json().get("status").asString()).isEqualTo("active");
        assertThat(api.get("/api/v1/migrations/" + queued).json().get("status").asString()).isEqualTo("queued");
        release(api, active);
        assertLanded(api, active, runningGuest, "host-b");
        assertThat(api.put("/api/v1/admission/limits", Map.of("maxJobs", 5)).status()).isEqualTo(200);
        assertLanded(api, queued, queuedGuest, "host-b");

        // setup: the destination is prepared (and holds its answer); the source's command never goes out
        String setupGuest = busyGuest(api, "r-setup", "host-a", 32 * MIB);
        Files.writeString(faults, "host-b destination-opened hold:4000\n");
        String setup = migrate(api, setupGuest, "host-b", Map.of("maxBandwidth", 0, "downtimeLimitMs", 2000,
                "verifyChecksums", true));
        awaitFault("host-b destination-opened");
        java.time.Instant setupSince = java.time.Instant.now();
        assertThat(api.get("/api/v1/migrations/" + setup).json().get("status").asString()).isEqualTo("setup");
        serve.destroyForcibly().waitFor();
        while (java.time.Instant.now().isBefore(setupSince.plusSeconds(9))) {
            Thread.sleep(200);   // the setup timeout passes while nobody drives the job
        }
        api = start();
        assertLanded(api, setup, setupGuest, "host-b");
        assertThat(MoveChecks.transitions(api, setup)).containsExactly("queued", "setup", "active", "completed");

        // the hand-off: the source recorded it and holds; the control plane dies before the destination activates
        String handoffGuest = busyGuest(api, "r-handoff", "host-b", 32 * MIB);
        Files.writeString(faults, "host-b handoff-recorded hold:3000\n");
        String handoff = migrate(api, handoffGuest, "host-a", Map.of("maxBandwidth", 0, "downtimeLimitMs", 2000,
                "verifyChecksums", true));
        awaitFault("host-b handoff-recorded");
        api = killAndStart();
        assertLanded(api, handoff, handoffGuest, "host-a");

        // before the hand-off is recorded: the source inactivated its disks and holds; the control plane
        // dies; the source's hand-off step waits for it and the job completes
        String inactivatedGuest = busyGuest(api, "r-inactivated", "host-a", 32 * MIB);
        Files.writeString(faults, "host-a source-inactivated hold:3000\n");
        String inactivated = migrate(api, inactivatedGuest, "host-b", Map.of("maxBandwidth", 0,
                "downtimeLimitMs", 2000, "verifyChecksums", true));
        awaitFault("host-a source-inactivated");
        api = killAndStart();
        assertLanded(api, inactivated, inactivatedGuest, "host-b");

        // a real failure while the control plane is down: the data connection drops after the source
        // inactivated its disks; the job ends failed for that cause, never for the restart, and the guest
        // runs on its source with its disk there
        String failingGuest = busyGuest(api, "r-failing", "host-b", 32 * MIB);
        Files.writeString(faults, "host-b source-inactivated hold:3000\nhost-b source-inactivated drop\n");
        String failing = migrate(api, failingGuest, "host-a", Map.of("maxBandwidth", 0, "downtimeLimitMs", 2000));
        awaitFault("host-b source-inactivated");
        api = killAndStart();
        assertFailedBack(api, failing, failingGuest, "host-b");

        // post-copy: the destination runs the guest and fetches the rest while the control plane is gone
        String postcopyGuest = busyGuest(api, "r-postcopy", "host-a", 64 * MIB);
        String postcopy = migrate(api, postcopyGuest, "host-b", Map.of("capabilities", Map.of("postcopy", true), "maxBandwidth", 4 * MIB,
                "maxPostcopyBandwidth", 4 * MIB, "downtimeLimitMs", 10));
        awaitStatus(api, postcopy, Duration.ofSeconds(30), "active");
        assertThat(api.post("/api/v1/migrations/" + postcopy + "/postcopy", null).status()).isEqualTo(202);
        awaitStatus(api, postcopy, Duration.ofSeconds(30), "postcopy-active");
        api = killAndStart();
        assertThat(api.get("/api/v1/migrations/" + postcopy).json().get("status").asString())
                .isIn("postcopy-active", "completed");
        assertLanded(api, postcopy, postcopyGuest, "host-b");
    }
}
