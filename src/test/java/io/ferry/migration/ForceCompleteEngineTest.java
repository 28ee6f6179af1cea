package io.ferry.migration;

import io.ferry.bench.GuestContent;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.MigrationPhase;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.MigrationReport;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.outgoing.OutgoingMigration;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nova's force-complete through the engine, in one process over loopback: a guest that cannot
 * converge (it dirties ~40 MB/s, the link carries 8 MiB/s, the downtime limit is 20 ms) is made
 * to by holding its workload still, and runs on — on the destination after the switchover, on
 * the source again if the job is cancelled.
 */
class ForceCompleteEngineTest {

    private static final long MIB = 1L << 20;
    private static final long BANDWIDTH = 8 * MIB;
    private static final long DOWNTIME_LIMIT_MS = 20;
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    @TempDir
    Path sourceStore;

    @TempDir
    Path destinationStore;

    /** 16 MiB of RAM, 10000 page writes a second over half of it; a 4 MiB disk written 200 times a second. */
    private static GuestSpec busyGuest() {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 12 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(new DiskSpec(UUID.randomUUID().toString(), "virtio-disk0", 4 * MIB)),
                4096, new WorkloadSpec(10_000, 0.5, 200, 21));
    }

    @Test
    void aGuestThatCannotConvergeCompletesWhenForcedAndRunsOnTheDestination() throws Exception {
        GuestSpec spec = busyGuest();
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            GuestContent.fillRandom(source.memory().blocks().get(0), 5);
            AtomicLong writesWhenForced = new AtomicLong(-1);
            OutgoingMigration[] running = new OutgoingMigration[1];
            MigrationReport report = loopback.run(source, destination, BANDWIDTH, DOWNTIME_LIMIT_MS, true, true,
                    migration -> {
                        running[0] = migration;
                        // two rounds after the bulk one, and still far from the downtime limit
                        await().atMost(PATIENCE).until(() -> migration.progress().ram().iterations() >= 2);
                        assertThat(migration.progress().expectedDowntimeMs()).isGreaterThan(DOWNTIME_LIMIT_MS);
                        assertThat(source.state()).isEqualTo(GuestState.MIGRATING_OUT);
                        assertThat(migration.forceComplete()).isTrue();
                        writesWhenForced.set(source.memoryWrites());
                        assertThat(migration.forceComplete()).as("idempotent").isTrue();
                        assertThat(source.state()).as("the state is left alone").isEqualTo(GuestState.MIGRATING_OUT);
                    });

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(report.reason()).contains("forced to complete");
            // the workload wrote nothing from the force on (held, then paused by the switchover)
            assertThat(source.memoryWrites()).isEqualTo(writesWhenForced.get());
            assertThat(running[0].forceComplete()).as("refused once it has ended").isFalse();

            // the destination holds exactly what the source held: it checked, and says so
            var verification = report.progress().verification();
            MigrationReport verified = loopback.reports().stream()
                    .filter(r -> r.phase().equals(MigrationPhase.VERIFIED)).findFirst().orElseThrow();
            assertThat(verified.progress().verification().destinationMemory()).isEqualTo(verification.sourceMemory());
            assertThat(verified.progress().verification().destinationDeviceState())
                    .isEqualTo(verification.sourceDeviceState());
            assertThat(verified.progress().verification().destinationDisks()).isEqualTo(verification.sourceDisks())
                    .hasSize(1);
            GuestChecksums sourceNow = source.checksums();   // paused since the switchover
            assertThat(sourceNow.memory()).isEqualTo(verification.sourceMemory());
            assertThat(sourceNow.disks().get(0).sha256()).isEqualTo(verification.sourceDisks().get(0));

            // the run state sent was the one before the force: running
            assertThat(source.state()).isEqualTo(GuestState.PAUSED);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
            long destinationWrites = destination.memoryWrites();
            await().atMost(PATIENCE).until(() -> destination.memoryWrites() > destinationWrites + 100
                    && destination.diskWritesAcknowledged() > sourceNow.diskWritesAcknowledged());
            assertThat(destination.diskWriteErrors()).isZero();
        }
    }

    @Test
    void aJobCancelledAfterTheForceLeavesTheGuestRunningOnTheSource() throws Exception {
        GuestSpec spec = busyGuest();
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            AtomicLong writesWhenForced = new AtomicLong(-1);
            MigrationReport report = loopback.run(source, destination, BANDWIDTH, DOWNTIME_LIMIT_MS, false, true,
                    migration -> {
                        await().atMost(PATIENCE).until(() -> migration.progress().ram().iterations() >= 1);
                        assertThat(migration.forceComplete()).isTrue();
                        writesWhenForced.set(source.memoryWrites());
                        // a round at 8 MiB/s takes far longer than this: still pre-copy, so cancel is honoured
                        assertThat(migration.cancel()).isTrue();
                        assertThat(migration.forceComplete()).as("refused after a cancel").isFalse();
                    });

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.CANCELLED);
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
            assertThat(source.disks()).allSatisfy(d -> assertThat(d.isActive()).isTrue());
            // no longer held: it writes memory and disk again
            long disk = source.diskWritesAcknowledged();
            await().atMost(PATIENCE).until(() -> source.memoryWrites() > writesWhenForced.get() + 100
                    && source.diskWritesAcknowledged() > disk);
            assertThat(source.diskWriteErrors()).isZero();
            // and is an ordinary guest again: a pause stops it
            source.pause();
            long paused = source.memoryWrites();
            Thread.sleep(50);
            assertThat(source.memoryWrites()).isEqualTo(paused);
        }
    }

    @Test
    void aSwitchToPostcopyRefusesTheForce() throws Exception {
        GuestSpec spec = busyGuest();
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            AtomicBoolean forced = new AtomicBoolean(true);
            MigrationReport report = loopback.run(source, destination, BANDWIDTH, DOWNTIME_LIMIT_MS, false, true,
                    MigrationSettings.PostcopySettings.after(0), migration -> {
                        await().atMost(PATIENCE).until(() -> migration.progress().ram().iterations() >= 1);
                        assertThat(migration.startPostcopy()).isTrue();
                        forced.set(migration.forceComplete());
                    });

            assertThat(forced.get()).isFalse();
            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
        }
    }
}
