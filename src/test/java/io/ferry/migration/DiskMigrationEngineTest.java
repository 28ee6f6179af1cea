package io.ferry.migration;

import io.ferry.migration.loopback.LocalOwnership;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.MigrationPhase;
import io.ferry.migration.outgoing.OutgoingMigration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.MigrationReport;
import io.ferry.channel.OwnershipGrant;
import io.ferry.guest.DiskImage;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.DiskWritePattern;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks through the engine between two guests of one process: block migration byte-exact
 * against a writing guest at unlimited bandwidth, the hand-off's single writer, and the fence.
 * Every image claim is checked two ways: digests equal the source's at switchover, and equal
 * the images the guest's acknowledged writes imply ({@link DiskWritePattern}).
 */
class DiskMigrationEngineTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path sourceStore;

    @TempDir
    Path destinationStore;

    /** Two disks, one not a whole number of 1 MiB chunks, written 3000 times a second. */
    private static GuestSpec writingGuest(int diskWritesPerSecond) {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 28 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(new DiskSpec(UUID.randomUUID().toString(), "virtio-disk0", 24 * MIB),
                        new DiskSpec(UUID.randomUUID().toString(), "virtio-disk1", 5 * MIB + 12 * 1024)),
                4096, new WorkloadSpec(3000, 0.5, diskWritesPerSecond, 17));
    }

    /**
     * After a completed migration the guest runs on, its writes landing on the destination's
     * images exactly as acknowledged; one writer: the destination, at generation 3, the source's
     * images fenced.
     */
    private static void assertTheDestinationWritesAloneAndKeepsEveryWrite(GuestSpec spec, LoopbackMigration loopback,
                                                                         SyntheticGuest source,
                                                                         SyntheticGuest destination) {
        assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
        long before = destination.diskWritesAcknowledged();
        await().atMost(Duration.ofSeconds(10)).until(() -> destination.diskWritesAcknowledged() > before + 300);
        destination.pause();
        GuestChecksums sums = destination.checksums();
        assertThat(diskDigests(sums)).containsExactly(
                DiskWritePattern.expectedSha256(17, sums.diskWritesAcknowledged(), sizes(spec)));
        assertThat(destination.diskWriteErrors()).isZero();
        assertThat(loopback.ownership().records()).allSatisfy(d -> {
            assertThat(d.ownerHostId()).isEqualTo(LocalOwnership.DESTINATION);
            assertThat(d.state()).isEqualTo(io.ferry.channel.OwnershipState.ACTIVE);
            assertThat(d.generation()).isEqualTo(3);
        });
        assertThat(destination.disks()).allSatisfy(d -> assertThat(d.activeGeneration()).isEqualTo(3));
        assertThat(source.disks()).allSatisfy(d -> assertThat(d.isActive()).isFalse());
    }

    private static long[] sizes(GuestSpec spec) {
        return spec.disks().stream().mapToLong(DiskSpec::sizeBytes).toArray();
    }

    private static List<String> diskDigests(GuestChecksums sums) {
        return sums.disks().stream().map(GuestChecksums.DiskChecksum::sha256).toList();
    }

    @Test
    void copyModeMovesWritingImagesByteExactAtUnlimitedBandwidth() throws Exception {
        GuestSpec spec = writingGuest(3000);
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> source.diskWritesAcknowledged() > 1000);
            MigrationReport report = loopback.run(source, destination, 0, 300, true, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            var progress = report.progress();
            assertThat(progress.disk().total()).isEqualTo(29 * MIB + 12 * 1024);
            assertThat(progress.disk().transferred()).isGreaterThanOrEqualTo(30 * MIB);   // every chunk at least once
            assertThat(progress.disk().remaining()).isZero();
            // at switchover the destination's images equal the source's (the destination checked too)
            assertThat(progress.verification().sourceDisks()).hasSize(2);
            assertThat(loopback.reports()).anySatisfy(r -> {
                assertThat(r.phase()).isEqualTo(MigrationPhase.VERIFIED);
                assertThat(r.progress().verification().destinationDisks())
                        .isEqualTo(progress.verification().sourceDisks());
            });
            assertTheDestinationWritesAloneAndKeepsEveryWrite(spec, loopback, source, destination);
        }
    }

    @Test
    void aGuestResumedOnTheInactiveSideGetsWriteErrorsAndWritesNothing() throws Exception {
        GuestSpec spec = writingGuest(2000);
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, sourceStore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            MigrationReport report = loopback.run(source, destination, 0, 300, false, null);
            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            destination.pause();
            GuestChecksums handedOver = destination.checksums();

            // the operator's mistake QEMU allows: resume the old side too (same image files)
            assertThat(source.state()).isEqualTo(GuestState.PAUSED);
            long acknowledgedAtSwitchover = source.diskWritesAcknowledged();
            source.resume();
            await().atMost(Duration.ofSeconds(10)).until(() -> source.diskWriteErrors() > 100);
            source.pause();
            assertThat(source.lastDiskWriteError()).get().asString().contains("inactive");
            assertThat(diskDigests(destination.checksums())).isEqualTo(diskDigests(handedOver));
            // and nothing it did counts as acknowledged
            assertThat(source.diskWritesAcknowledged()).isEqualTo(acknowledgedAtSwitchover);
            // closing the fenced side writes nothing either
            source.close();
            assertThat(diskDigests(destination.checksums())).isEqualTo(diskDigests(handedOver));
        }
    }

    @Test
    void withoutTheControlPlaneAtHandOffTheSourceWaitsThenTakesItsImagesBack() throws Exception {
        GuestSpec spec = writingGuest(1000);
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            MigrationReport[] report = new MigrationReport[1];
            Thread run = new Thread(() -> {
                try {
                    report[0] = loopback.run(source, destination, 0, 300, false, true, migration -> {
                        loopback.ownership().unreachable(true);
                        // the source fenced its images and cannot get an answer: the guest waits, paused
                        await().atMost(Duration.ofSeconds(30)).until(() -> source.state() == GuestState.PAUSED
                                && source.disks().stream().noneMatch(DiskImage::isActive));
                        await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
                        assertThat(source.state()).isEqualTo(GuestState.PAUSED);
                        loopback.ownership().unreachable(false);
                    });
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            run.start();
            run.join(60_000);

            assertThat(report[0].phase()).isEqualTo(MigrationPhase.FAILED);
            assertThat(report[0].reason()).contains("did not record the hand-off").contains("re-activated");
            // the hand-off was never recorded: the source re-activates at generation 2 and runs on
            assertThat(loopback.ownership().records()).extracting(OwnershipGrant.Disk::ownerHostId,
                    OwnershipGrant.Disk::state, OwnershipGrant.Disk::generation)
                    .containsOnly(org.assertj.core.groups.Tuple.tuple(LocalOwnership.SOURCE, io.ferry.channel.OwnershipState.ACTIVE, 2L));
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
            long acknowledged = source.diskWritesAcknowledged();
            await().atMost(Duration.ofSeconds(10)).until(() -> source.diskWritesAcknowledged() > acknowledged + 100);
            assertThat(destination.state()).isNotEqualTo(GuestState.RUNNING);
            source.pause();
            GuestChecksums sums = source.checksums();
            assertThat(diskDigests(sums)).containsExactly(
                    DiskWritePattern.expectedSha256(17, sums.diskWritesAcknowledged(), sizes(spec)));
        }
    }

    /**
     * Post-copy of a guest whose images are copied, with the control plane giving no answer to the
     * destination's activation for a while: the whole stream, EOF included, arrives before the
     * guest may run there. The destination asks again until answered, then runs the guest and
     * ends the stream; every acknowledged write is on its images, and it is their only writer.
     */
    @Test
    void postcopyWaitsForAnUnansweredActivationEvenPastTheEndOfTheStream() throws Exception {
        GuestSpec spec = writingGuest(1000);
        try (SyntheticGuest source = SyntheticGuest.create(spec, sourceStore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration()) {
            MigrationReport report = loopback.run(source, destination, 0, 300, false, true,
                    MigrationSettings.PostcopySettings.after(0), migration -> {
                        loopback.ownership().unanswered(io.ferry.channel.HandoffStep.ACTIVATE_POSTCOPY, 2500);
                        assertThat(migration.startPostcopy()).isTrue();
                    });

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(loopback.reports()).extracting(MigrationReport::phase).contains(MigrationPhase.POSTCOPY_ACTIVE);
            assertThat(report.progress().downtimeMs()).isNotNull();
            assertTheDestinationWritesAloneAndKeepsEveryWrite(spec, loopback, source, destination);
        }
    }
}
