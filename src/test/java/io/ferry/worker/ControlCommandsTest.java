package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DirtyRateReport;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.WorkloadSettings;
import io.ferry.migration.FaultInjector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control channel's new commands as the worker routes them: status codes and replies. */
class ControlCommandsTest {

    @TempDir
    Path datastore;

    private GuestHost guests;
    private ControlCommands commands;
    private final UUID guestId = UUID.randomUUID();

    @BeforeEach
    void setUp() {
        guests = new GuestHost(datastore, "test-instance");
        Migrations migrations = new Migrations("host-a", guests, null, report -> { }, null, FaultInjector.none(),
                Duration.ofSeconds(1), new WorkerMetrics("host-a"));
        commands = new ControlCommands("host-a", "test-instance", guests, migrations, null);
        guests.create(new CreateGuestCommand(guestId, List.of(new RamBlockLayout("pc.ram", 16L << 20)), List.of(),
                4096, new WorkloadSettings(5000, 0.5, 0, 1)));
    }

    @AfterEach
    void tearDown() {
        guests.close();
    }

    private ControlCommands.Reply post(String path, String body) {
        return commands.handle("POST", path, null, body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aPausedGuestMeasuresZeroOverTheWindowAsked() {
        guests.pause(guestId);
        ControlCommands.Reply reply = post("/v1/guests/" + guestId + "/dirty-rate",
                "{\"windowMs\": 150, \"samplePagesPerGiB\": 4096}");
        assertThat(reply.status()).isEqualTo(200);
        DirtyRateReport report = (DirtyRateReport) reply.body();
        assertThat(report.guestId()).isEqualTo(guestId);
        assertThat(report.windowMs()).isEqualTo(150);
        assertThat(report.measuredWindowMs()).isGreaterThanOrEqualTo(150);
        assertThat(report.samplePagesPerGiB()).isEqualTo(4096);
        assertThat(report.sampledPages()).isEqualTo(64);
        assertThat(report.totalPages()).isEqualTo(4096);
        assertThat(report.changedPages()).isZero();
        assertThat(report.dirtyPagesPerSecond()).isZero();
        assertThat(report.guestState()).isEqualTo("paused");
    }

    @Test
    void theDirtyBitmapModeCountsTheGuestsWritesAndRunsOncePerGuest() throws Exception {
        // the first is retried while a probe below may hold the log (before the first took it)
        java.util.concurrent.CompletableFuture<ControlCommands.Reply> first = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> {
                    ControlCommands.Reply r;
                    do {
                        r = post("/v1/guests/" + guestId + "/dirty-rate", "{\"windowMs\": 1000, \"mode\": \"dirty-bitmap\"}");
                    } while (r.status() == 409);
                    return r;
                });
        // while the first one's log runs, a second dirty-bitmap measurement is refused; sampling is not
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(post("/v1/guests/" + guestId + "/dirty-rate",
                        "{\"windowMs\": 100, \"mode\": \"dirty-bitmap\"}").status()).isEqualTo(409));
        assertThat(post("/v1/guests/" + guestId + "/dirty-rate", "{\"windowMs\": 100, \"mode\": \"page-sampling\"}")
                .status()).isEqualTo(200);
        ControlCommands.Reply reply = first.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(reply.status()).isEqualTo(200);
        DirtyRateReport report = (DirtyRateReport) reply.body();
        assertThat(report.mode()).isEqualTo(io.ferry.channel.DirtyRateMode.DIRTY_BITMAP);
        assertThat(report.dirtyPagesPerSecond()).isPositive();
        // a hot set of half of 4096 pages: the exact count can never pass it
        assertThat(report.dirtyPagesPerSecond() * report.measuredWindowMs() / 1000).isLessThanOrEqualTo(2048);
        assertThat(post("/v1/guests/" + guestId + "/dirty-rate", "{\"mode\": \"dirty-log\"}").status())
                .isEqualTo(400);
    }

    @Test
    void anEmptyBodyTakesTheDefaults() {
        ControlCommands.Reply reply = post("/v1/guests/" + guestId + "/dirty-rate", "");
        assertThat(reply.status()).isEqualTo(200);
        DirtyRateReport report = (DirtyRateReport) reply.body();
        assertThat(report.windowMs()).isEqualTo(1000);
        assertThat(report.samplePagesPerGiB()).isEqualTo(512);
        assertThat(report.mode()).isEqualTo(io.ferry.channel.DirtyRateMode.PAGE_SAMPLING);
        assertThat(report.guestState()).isEqualTo("running");
    }

    @Test
    void aWindowOrSampleCountOutOfRangeIsABadRequest() {
        for (String body : List.of("{\"windowMs\": 99}", "{\"windowMs\": 60001}", "{\"samplePagesPerGiB\": 0}",
                "{\"samplePagesPerGiB\": 262145}", "{\"windowMs\": \"soon\"}")) {
            ControlCommands.Reply reply = post("/v1/guests/" + guestId + "/dirty-rate", body);
            assertThat(reply.status()).as(body).isEqualTo(400);
            assertThat(reply.body()).isInstanceOf(ErrorReply.class);
        }
    }

    @Test
    void anUnknownGuestOrJobIsNotFound() {
        assertThat(post("/v1/guests/" + UUID.randomUUID() + "/dirty-rate", "{}").status()).isEqualTo(404);
        assertThat(post("/v1/migrations/" + UUID.randomUUID() + "/force-complete", "").status()).isEqualTo(404);
        assertThat(post("/v1/migrations/" + UUID.randomUUID() + "/abandon", "{\"reason\": \"host lost\", \"disks\": []}")
                .status()).isEqualTo(404);
    }

    @Test
    void aTuneMayTurnAutoConvergeOnOrOffOrLeaveItOut() {
        String tune = "/v1/migrations/" + UUID.randomUUID() + "/tune";
        // understood (no outgoing migration of that job runs here), with the switch or without it, as older senders do
        for (String body : List.of("{\"maxBandwidth\": 0, \"downtimeLimitMs\": 300, \"autoConverge\": true}",
                "{\"maxBandwidth\": 0, \"downtimeLimitMs\": 300, \"autoConverge\": false}",
                "{\"maxBandwidth\": 0, \"downtimeLimitMs\": 300, \"autoConverge\": null}",
                "{\"maxBandwidth\": 0, \"downtimeLimitMs\": 300}")) {
            assertThat(post(tune, body).status()).as(body).isEqualTo(404);
        }
        assertThat(post(tune, "{\"maxBandwidth\": 0, \"downtimeLimitMs\": 300, \"autoConverge\": \"soon\"}").status())
                .isEqualTo(400);
    }

    @Test
    void anAbandonOfAJobWhoseStreamHasNotBegunIsAConflict() {
        UUID jobId = UUID.randomUUID();
        UUID incomingGuest = UUID.randomUUID();
        ControlCommands.Reply expecting = commands.handle("POST", "/v1/migrations/incoming", null,
                commands.json().writeValueAsBytes(new io.ferry.channel.StartIncomingCommand(jobId,
                        new CreateGuestCommand(incomingGuest, List.of(new RamBlockLayout("pc.ram", 16L << 20)),
                                List.of(), 4096, new WorkloadSettings(0, 0.5, 0, 1)), "c2VjcmV0", false, io.ferry.channel.StorageMode.SHARED, 1,
                        io.ferry.channel.CompressionMethod.NONE)));
        assertThat(expecting.status()).as("%s", expecting.body()).isEqualTo(201);

        ControlCommands.Reply reply = post("/v1/migrations/" + jobId + "/abandon",
                "{\"reason\": \"host lost\", \"disks\": []}");

        assertThat(reply.status()).isEqualTo(409);
        assertThat(((ErrorReply) reply.body()).error()).contains("not a paused post-copy");
        guests.release(incomingGuest);
    }

    /**
     * A job command from a replica whose lease was taken over (an older epoch than one the
     * worker has seen for the job) is refused and has no effect; the worker says what it knows
     * of a job to the replica that takes it over.
     */
    @Test
    void aCommandFromAReplicaThatNoLongerDrivesTheJobIsRefusedWithoutEffect() {
        UUID jobId = UUID.randomUUID();
        UUID incomingGuest = UUID.randomUUID();
        assertThat(knowledge(jobId)).isEqualTo(io.ferry.channel.MigrationKnowledge.UNKNOWN);
        ControlCommands.Reply expecting = commands.handle("POST", "/v1/migrations/incoming", null,
                commands.json().writeValueAsBytes(new io.ferry.channel.StartIncomingCommand(jobId,
                        new CreateGuestCommand(incomingGuest, List.of(new RamBlockLayout("pc.ram", 16L << 20)),
                                List.of(), 4096, new WorkloadSettings(0, 0.5, 0, 1)), "c2VjcmV0", false, io.ferry.channel.StorageMode.SHARED, 1,
                        io.ferry.channel.CompressionMethod.NONE)), 2);
        assertThat(expecting.status()).as("%s", expecting.body()).isEqualTo(201);
        assertThat(knowledge(jobId)).isEqualTo(io.ferry.channel.MigrationKnowledge.EXPECTED);

        ControlCommands.Reply stale = commands.handle("POST", "/v1/migrations/" + jobId + "/cancel", null, new byte[0], 1);
        assertThat(stale.status()).isEqualTo(409);
        assertThat(((ErrorReply) stale.body()).error()).contains("epoch 2").contains("no longer drives it");
        assertThat(knowledge(jobId)).isEqualTo(io.ferry.channel.MigrationKnowledge.EXPECTED);

        ControlCommands.Reply current = commands.handle("POST", "/v1/migrations/" + jobId + "/cancel", null,
                new byte[0], 2);
        assertThat(current.status()).isEqualTo(202);
        assertThat(knowledge(jobId)).isEqualTo(io.ferry.channel.MigrationKnowledge.UNKNOWN);
        assertThat(guests.reports()).extracting(r -> r.guestId()).doesNotContain(incomingGuest);
    }

    private io.ferry.channel.MigrationKnowledge knowledge(UUID jobId) {
        ControlCommands.Reply reply = commands.handle("GET", "/v1/migrations/" + jobId, null, new byte[0]);
        assertThat(reply.status()).isEqualTo(200);
        io.ferry.channel.MigrationStateReport report = (io.ferry.channel.MigrationStateReport) reply.body();
        assertThat(report.jobId()).isEqualTo(jobId);
        assertThat(report.workerInstance()).isEqualTo("test-instance");
        return report.state();
    }
}
