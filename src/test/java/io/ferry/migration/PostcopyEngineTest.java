package io.ferry.migration;

import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.MigrationPhase;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Post-copy between two guests of one process: a guest that dirties memory faster than the link
 * may carry never converges in pre-copy; switched to post-copy it runs on the destination at
 * once, faulting in the pages it lacks, and ends with exactly the memory its writes imply.
 */
class PostcopyEngineTest {

    private static final long MIB = 1L << 20;
    private static final long SEED = 5;

    @TempDir
    Path datastore;

    private static GuestSpec spec(WorkloadSpec workload) {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 28 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)), List.of(),
                4096, workload);
    }

    /**
     * A link that carries at most a quarter of what the guest's workload dirties, as measured now,
     * and never more than {@code cap}: a guest that must not converge cannot, however slow a loaded
     * machine makes its workload (the page rate, not the machine, decides).
     */
    private static long linkSlowerThanTheWorkload(SyntheticGuest source, long cap) throws InterruptedException {
        await().atMost(java.time.Duration.ofSeconds(30)).until(() -> source.memoryWrites() > 1000);
        long before = source.memoryWrites();
        long start = System.nanoTime();
        Thread.sleep(500);
        double pagesPerSecond = (source.memoryWrites() - before) / ((System.nanoTime() - start) / 1e9);
        return Math.max(64 * 1024, Math.min(cap, (long) (pagesPerSecond * 4096 / 4)));
    }

    /** Each block's bytes, copied out. */
    private static List<byte[]> snapshot(SyntheticGuest guest) {
        List<byte[]> blocks = new ArrayList<>();
        for (RamBlock block : guest.memory().blocks()) {
            ByteBuf out = Unpooled.buffer((int) block.sizeBytes());
            for (long p = 0; p < block.pageCount(); p++) {
                block.readPage(p, out);
            }
            byte[] bytes = new byte[(int) block.sizeBytes()];
            out.readBytes(bytes);
            out.release();
            blocks.add(bytes);
        }
        return blocks;
    }

    /**
     * The workload's first {@code writes} memory writes from {@code seed}, applied to
     * {@code memory}: a page of the hot set, 64 random bytes at a random 64-byte offset (the
     * workload's documented pattern; with no disk writes nothing else draws on its random stream).
     */
    private static void replayWrites(List<byte[]> memory, double hotSetFraction, long writes) {
        long total = 0;
        long[] firstPages = new long[memory.size()];
        for (int b = 0; b < memory.size(); b++) {
            firstPages[b] = total;
            total += memory.get(b).length / 4096;
        }
        long hot = Math.max(1, Math.min(total, (long) Math.ceil(hotSetFraction * total)));
        SplittableRandom random = new SplittableRandom(SEED);
        for (long n = 0; n < writes; n++) {
            long hotPage = random.nextLong(hot);
            int block = firstPages.length - 1;
            while (firstPages[block] > hotPage) {
                block--;
            }
            long page = hotPage - firstPages[block];
            int offset = random.nextInt(4096 / 64) * 64;
            ByteBuffer target = ByteBuffer.wrap(memory.get(block)).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 64; i += 8) {
                target.putLong((int) (page * 4096 + offset + i), random.nextLong());
            }
        }
    }

    private static String sha256(List<byte[]> memory) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        memory.forEach(digest::update);
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The automatic switches: after a round count, or on the estimate that pre-copy will not converge. */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> automaticSwitches() {
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of("after 2 rounds", MigrationSettings.PostcopySettings.after(2), 2),
                // a round that left no less than the one before: at the earliest after round 2
                org.junit.jupiter.params.provider.Arguments.of("when not converging",
                        new MigrationSettings.PostcopySettings(true, 0, true, 0), -1));
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "switch {0}")
    @org.junit.jupiter.params.provider.MethodSource("automaticSwitches")
    void aGuestThatCannotConvergeCompletesThroughPostcopyWithExactlyTheMemoryItsWritesImply(
            String name, MigrationSettings.PostcopySettings switchRule, int rounds) throws Exception {
        // 20000 pages/s (~80 MB/s) against at most 8 MiB/s and at most a quarter of what it achieves
        // here, with a 1 ms downtime limit: pre-copy alone never converges
        GuestSpec spec = spec(new WorkloadSpec(20000, 0.5, 0, SEED));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            // the workload is writing before the move starts: a guest that has not written yet converges at once
            long bandwidth = linkSlowerThanTheWorkload(source, 8 * MIB);
            MigrationReport report = loopback.run(source, destination, bandwidth, 1, false, false, switchRule, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(loopback.reports()).extracting(MigrationReport::phase).contains(MigrationPhase.POSTCOPY_ACTIVE);
            if (rounds > 0) {
                assertThat(report.progress().ram().iterations()).isEqualTo(rounds);
            } else {
                assertThat(report.progress().ram().iterations()).isGreaterThanOrEqualTo(2);
            }
            var postcopy = report.progress().postcopy();
            assertThat(postcopy.requests()).isGreaterThan(0);
            assertThat(postcopy.bytesBeforePause()).isGreaterThan(0);
            assertThat(postcopy.bytesDuringPause()).isGreaterThan(0);
            assertThat(postcopy.bytesAfterPause()).isGreaterThan(0);
            assertThat(postcopy.bytesBeforePause() + postcopy.bytesDuringPause() + postcopy.bytesAfterPause())
                    .isEqualTo(report.progress().ram().transferred());
            assertThat(source.state()).isEqualTo(GuestState.PAUSED);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);

            // the destination ran during post-copy and faulted pages in
            long[] faults = loopback.lastIncoming().faultLatencies();
            assertThat(faults.length).isGreaterThan(0);

            // its memory is the source's at the switch plus exactly the writes it made since
            assertMemoryIsTheSwitchPlusTheDestinationsWrites(source, destination, 0.5);
        }
    }

    @Test
    void anOperatorsSwitchTakesARunningPrecopyToPostcopy() throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(20000, 1.0, 0, SEED));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            long bandwidth = linkSlowerThanTheWorkload(source, 4 * MIB);
            MigrationReport report = loopback.run(source, destination, bandwidth, 1, false, false,
                    MigrationSettings.PostcopySettings.after(0), migration -> {
                        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                                .until(() -> migration.progress().ram().transferred() > 4 * MIB);
                        assertThat(migration.startPostcopy()).isTrue();
                    });
            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertMemoryIsTheSwitchPlusTheDestinationsWrites(source, destination, 1.0);
        }
    }

    /**
     * The source's memory stays as it was at the switch (paused since); the destination's must be
     * exactly that plus the writes its workload made after it started running.
     */
    static void assertMemoryIsTheSwitchPlusTheDestinationsWrites(SyntheticGuest source,
                                                                       SyntheticGuest destination, double hotSet) {
        destination.pause();
        long destinationWrites = destination.memoryWrites();
        assertThat(destinationWrites).isGreaterThan(0);
        List<byte[]> expected = snapshot(source);
        replayWrites(expected, hotSet, destinationWrites);
        assertThat(destination.checksums().memory()).isEqualTo(sha256(expected));
    }

    private static boolean reported(LoopbackMigration loopback, MigrationPhase phase, String reasonPart) {
        return loopback.reports().stream().anyMatch(r -> r.phase().equals(phase)
                && (reasonPart == null || (r.reason() != null && r.reason().contains(reasonPart))));
    }

    /** What a test does to the link once post-copy runs, and until it is back. */
    private interface Breakage {
        void run(OutgoingMigration migration, LoopbackMigration loopback, LinkCutter link, SyntheticGuest source,
                 SyntheticGuest destination);
    }

    /**
     * A guest that cannot converge, switched to post-copy after one round at 32 MiB/s, its
     * background push held to 1 MiB/s, over a link that {@code breakage} breaks once post-copy
     * runs (and brings back). The migration must complete, recovered once, with the destination's
     * memory exactly the source's at the switch plus its own writes.
     */
    private void breakDuringPostcopy(boolean autoRecover, Breakage breakage) throws Exception {
        breakDuringPostcopy(1, autoRecover, breakage);
    }

    /** As above, the pre-copy round on {@code channels} multifd channels when more than one. */
    private void breakDuringPostcopy(int channels, boolean autoRecover, Breakage breakage) throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(20000, 0.5, 0, SEED));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(channels);
             LinkCutter link = new LinkCutter(loopback.dataAddress())) {
            loopback.routeThrough(link.address());
            loopback.autoRecover(autoRecover);
            MigrationReport report = loopback.run(source, destination, 32 * MIB, 1, false, false,
                    new MigrationSettings.PostcopySettings(true, 1, false, MIB), migration -> {
                        assertThat(migration.recover()).as("not paused yet").isFalse();
                        // the destination runs the guest: LISTEN and RUN arrived (a link lost before LISTEN
                        // arrives, with no disks to prove the guest never ran there, stays paused for good)
                        await().atMost(Duration.ofSeconds(30)).until(() ->
                                reported(loopback, MigrationPhase.POSTCOPY_ACTIVE, null)
                                && destination.state() == GuestState.RUNNING);
                        breakage.run(migration, loopback, link, source, destination);
                    });

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(report.progress().postcopy().recoveries()).isEqualTo(1);
            assertMemoryIsTheSwitchPlusTheDestinationsWrites(source, destination, 0.5);
        }
    }

    /** Cuts every connection and keeps the link down: both sides must report the pause. */
    private static void cutAndKeepDown(LoopbackMigration loopback, LinkCutter link) {
        link.refuse(true);
        link.cut();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                reported(loopback, MigrationPhase.POSTCOPY_PAUSED, "link to")
                && reported(loopback, MigrationPhase.POSTCOPY_PAUSED, "connection from the source lost"));
    }

    /**
     * The link breaks during post-copy and stays down for a while: both sides pause (the
     * destination's guest runs on, waiting on missing pages), nothing is dropped; once the link is
     * back, a recovery (an operator's, here) reconnects, the destination reports which pages it
     * has, the source sends the rest, and the memory ends exactly as the writes imply.
     */
    @Test
    void aLinkCutDuringPostcopyPausesAndARecoveryCompletesByteExact() throws Exception {
        breakDuringPostcopy(false, (migration, loopback, link, source, destination) -> {
            cutAndKeepDown(loopback, link);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
            assertThat(source.state()).isEqualTo(GuestState.PAUSED);
            // the link is still down: a recovery attempt fails and the job stays paused
            assertThat(migration.recover()).isTrue();
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                    .until(() -> !reported(loopback, MigrationPhase.POSTCOPY_ACTIVE, "recovered"));
            link.refuse(false);
            assertThat(migration.recover()).isTrue();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> reported(loopback, MigrationPhase.POSTCOPY_ACTIVE, "recovered"));
            assertThat(link.accepted()).as("main and preempt channel, then both again").isEqualTo(4);
        });
    }

    /**
     * The destination may report a broken link before the source notices it, and the control
     * plane then passes an operator's recovery on: a request that meets an active post-copy is
     * kept, and the pause that follows retries at once (no back-off here, so nothing else would).
     */
    @Test
    void aRecoveryAskedBeforeTheSourceNoticesTheBreakIsKeptForThePause() throws Exception {
        breakDuringPostcopy(false, (migration, loopback, link, source, destination) -> {
            assertThat(migration.recover()).as("kept for the pause to come").isTrue();
            link.cut();   // the link comes straight back: only the kept request reconnects
        });
    }

    /** Without anyone asking, the source retries a broken link with back-off until it is back. */
    @Test
    void aBrokenLinkIsRetriedWithBackoffUntilItComesBack() throws Exception {
        breakDuringPostcopy(true, (migration, loopback, link, source, destination) -> {
            cutAndKeepDown(loopback, link);
            sleep(1500);   // past the first back-off steps: those attempts are refused
            link.refuse(false);
        });
    }

    /**
     * Only the preempt channel breaks (the second connection: requested pages and the page
     * requests): post-copy pauses as for the main one, recovers by itself, and no page is lost,
     * not even one that was requested and in flight on the broken channel.
     */
    @Test
    void aBrokenPreemptChannelAloneIsRecoveredWithoutLosingAPage() throws Exception {
        breakDuringPostcopy(true, (migration, loopback, link, source, destination) -> {
            assertThat(link.accepted()).as("main and preempt channel").isEqualTo(2);
            link.cut(1);
        });
    }

    // ---- multifd channels and post-copy (QEMU from 10.0) ----

    /** Connections in the order the source opens them: the main stream, the preempt channel, then multifd. */
    private static final int FIRST_MULTIFD = 2;

    /**
     * A job that may post-copy sends its pre-copy rounds on its multifd channels, each round
     * ended by a sync, and post-copy's pages on the main stream and the preempt channel: the
     * destination ends with exactly the memory the writes imply.
     */
    @Test
    void overFourChannelsThePrecopyRoundsTravelOnMultifdAndPostcopyEndsByteExact() throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(20000, 0.5, 0, SEED));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(4);
             LinkCutter link = new LinkCutter(loopback.dataAddress())) {
            loopback.routeThrough(link.address());
            long bandwidth = linkSlowerThanTheWorkload(source, 8 * MIB);
            MigrationReport report = loopback.run(source, destination, bandwidth, 1, false, false,
                    MigrationSettings.PostcopySettings.after(2), null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(report.progress().ram().iterations()).isEqualTo(2);
            assertThat(report.progress().postcopy().requests()).isGreaterThan(0);
            assertThat(link.accepted()).as("main, preempt and four multifd channels").isEqualTo(6);
            long onMultifd = 0;
            for (int c = FIRST_MULTIFD; c < FIRST_MULTIFD + 4; c++) {
                assertThat(link.bytesFromSource(c)).as("multifd channel %d carried pages", c - FIRST_MULTIFD + 1)
                        .isGreaterThan(MIB);
                onMultifd += link.bytesFromSource(c);
            }
            long onMain = link.bytesFromSource(0);
            assertThat(onMain + link.bytesFromSource(1) + onMultifd).as("every byte the job counted went through")
                    .isGreaterThanOrEqualTo(report.progress().ram().transferred());
            assertMemoryIsTheSwitchPlusTheDestinationsWrites(source, destination, 0.5);
        }
    }

    /**
     * One multifd channel of four breaks during a pre-copy round of a job that may post-copy:
     * the job fails as any pre-copy does, the guest runs on at the source with every byte, and
     * the destination never runs it.
     */
    @Test
    void aMultifdChannelBreakingBeforeTheSwitchFailsTheJobAndTheGuestRunsOnAtTheSource() throws Exception {
        GuestSpec spec = spec(WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(4);
             LinkCutter link = new LinkCutter(loopback.dataAddress())) {
            loopback.routeThrough(link.address());
            io.ferry.bench.GuestContent.fillRandom(source.memory().blocks().get(0), 9);
            String before = source.checksums().memory();
            MigrationReport report = loopback.run(source, destination, 4 * MIB, 300, false, false,
                    MigrationSettings.PostcopySettings.after(0), migration ->
                            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() -> {
                                if (migration.progress().ram().transferred() < 2 * MIB) {
                                    return false;
                                }
                                link.cut(FIRST_MULTIFD + 1);
                                return true;
                            }));

            assertThat(report.phase()).isEqualTo(MigrationPhase.FAILED);
            assertThat(report.reason()).contains("multifd channel");
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
            assertThat(source.checksums().memory()).as("not a guest byte lost").isEqualTo(before);
            await().atMost(Duration.ofSeconds(10)).until(() -> destination.state() != GuestState.RUNNING);
        }
    }

    /**
     * With four multifd channels, every connection breaks during post-copy: both sides pause, a
     * recovery reconnects the main stream and the preempt channel (the multifd channels served
     * pre-copy only and are not reopened), and the memory ends exactly as the writes imply.
     */
    @Test
    void withFourChannelsALinkCutDuringPostcopyPausesAndRecoversByteExact() throws Exception {
        breakDuringPostcopy(4, true, (migration, loopback, link, source, destination) -> {
            assertThat(link.accepted()).as("main, preempt and four multifd channels").isEqualTo(6);
            cutAndKeepDown(loopback, link);
            link.refuse(false);
        });
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
