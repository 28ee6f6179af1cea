package io.ferry.migration;

import io.ferry.migration.loopback.LocalOwnership;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.channel.MigrationSettings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.AbandonReport;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.Workload;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.ferry.migration.incoming.IncomingMigration;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An admin's way out of a stranded post-copy (issue 10 item 6): the link broke, both sides are
 * paused, the other side's worker is gone, and the side kept ends the migration. Kept on the
 * source, the guest runs there again from the switch with its disks at the new generation, and
 * the link is never tried again; kept on the destination, every page that never arrived is a
 * zero page, nothing waits any more, and the rest is exactly what the source sent.
 */
class AbandonPostcopyEngineTest {

    private static final long MIB = 1L << 20;
    private static final long SEED = 7;
    private static final double HOT_SET = 0.5;

    @TempDir
    Path datastore;

    private final String diskId = UUID.randomUUID().toString();

    /** A guest that cannot converge at 32 MiB/s, with one disk it writes {@code diskWritesPerSecond} times a second. */
    private GuestSpec spec(int diskWritesPerSecond) {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 28 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(new DiskSpec(diskId, "virtio-disk0", 4 * MIB)), 4096,
                new WorkloadSpec(20000, HOT_SET, diskWritesPerSecond, SEED));
    }

    /** What the test does once post-copy is paused with the link down; runs on the test thread. */
    private interface WhilePaused {
        void run(OutgoingMigration migration, LoopbackMigration loopback, LinkCutter link, SyntheticGuest source,
                 SyntheticGuest destination) throws Exception;
    }

    /**
     * Switched to post-copy after one round, its background push held to 1 MiB/s (so most pages
     * are still at the source), the link cut once the destination runs the guest and kept down:
     * both sides report the pause. The destination's workload is held until then: its page faults
     * would otherwise pull the hot set in, as fast as the machine lets them, before the cut (on a
     * loaded machine all but 23 pages once arrived). Returns the source's final report (null: none).
     */
    private MigrationReport pausedPostcopy(SyntheticGuest source, SyntheticGuest destination,
                                           WhilePaused whilePaused) throws Exception {
        try (LoopbackMigration loopback = new LoopbackMigration();
             LinkCutter link = new LinkCutter(loopback.dataAddress())) {
            loopback.routeThrough(link.address());
            Workload.Hold faultsHeld = destination.holdWorkload();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            MigrationReport last = loopback.run(source, destination, 32 * MIB, 1, false, false,
                    new MigrationSettings.PostcopySettings(true, 1, false, MIB), migration -> {
                        try {
                            await().atMost(Duration.ofSeconds(30)).until(() ->
                                    reported(loopback, MigrationPhase.POSTCOPY_ACTIVE, null)
                                    && destination.state() == GuestState.RUNNING);
                            // post-copy is active, not paused: neither side may be abandoned
                            assertThatThrownBy(() -> migration.abandonPostcopy("too early", Map.of(diskId, 9L)))
                                    .isInstanceOf(IllegalStateException.class);
                            assertThatThrownBy(() -> loopback.lastIncoming().abandonPostcopy("too early",
                                    Map.of(diskId, 9L))).isInstanceOf(IllegalStateException.class);
                            link.refuse(true);
                            link.cut();
                            await().atMost(Duration.ofSeconds(10)).until(() ->
                                    reported(loopback, MigrationPhase.POSTCOPY_PAUSED, "link to")
                                    && reported(loopback, MigrationPhase.POSTCOPY_PAUSED, "connection from the source lost"));
                            faultsHeld.close();
                            whilePaused.run(migration, loopback, link, source, destination);
                        } catch (Throwable e) {
                            faultsHeld.close();
                            failure.set(e);
                            try {
                                loopback.stopSource();   // the run ends, the failure is thrown below
                            } catch (InterruptedException stopped) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    });
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            return last;
        }
    }

    private static boolean reported(LoopbackMigration loopback, MigrationPhase phase, String reasonPart) {
        return loopback.reports().stream().anyMatch(r -> r.phase().equals(phase)
                && (reasonPart == null || (r.reason() != null && r.reason().contains(reasonPart))));
    }

    @Test
    void abandonedOnTheSourceTheGuestRunsThereAgainWithItsDisksAtTheNewGenerationAndTheLinkIsNeverRetried()
            throws Exception {
        GuestSpec spec = spec(50);
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED)) {
            AtomicReference<AbandonReport> answer = new AtomicReference<>();
            MigrationReport last = pausedPostcopy(source, destination,
                    (migration, loopback, link, src, dst) -> {
                        assertThat(src.state()).isEqualTo(GuestState.PAUSED);
                        assertThat(src.disk(diskId).activeGeneration()).as("fenced since the hand-off").isZero();
                        // the destination's worker is gone: its reports stop, its guest with it
                        loopback.lastIncoming().abandon("destination worker gone");
                        dst.close();
                        // the control plane moves the disks back here (ACTIVE, next generation) and fails the job
                        Map<String, Long> granted = loopback.ownership().keep(LocalOwnership.SOURCE);
                        assertThat(granted).containsEntry(diskId, 4L);   // 1 at start, handoff 2, destination 3
                        int reportsBefore = loopback.reports().size();
                        long memoryWrites = src.memoryWrites();
                        long diskWrites = src.diskWritesAcknowledged();
                        long diskErrors = src.diskWriteErrors();

                        AbandonReport report = migration.abandonPostcopy("destination host lost", granted)
                                .get(10, TimeUnit.SECONDS);
                        answer.set(report);
                        int attempts = link.attempts();

                        assertThat(report.side()).isEqualTo(AbandonReport.SOURCE);
                        assertThat(report.lostPages()).isZero();
                        assertThat(report.guest().state()).isEqualTo(io.ferry.channel.ReportedGuestState.RUNNING);
                        assertThat(src.state()).isEqualTo(GuestState.RUNNING);
                        assertThat(src.disk(diskId).activeGeneration()).isEqualTo(4);
                        // the workload runs again: memory, and disk writes the image's fence lets through
                        await().atMost(Duration.ofSeconds(5)).until(() -> src.memoryWrites() > memoryWrites + 1000
                                && src.diskWritesAcknowledged() > diskWrites + 5);
                        assertThat(src.diskWriteErrors()).isEqualTo(diskErrors);
                        // a repeat gets the same answer
                        assertThat(migration.abandonPostcopy("again", granted).get(1, TimeUnit.SECONDS))
                                .isSameAs(report);
                        // several back-off periods (0.5, 1, 2 s): no attempt on the link, no report
                        Thread.sleep(3_500);
                        assertThat(link.attempts()).as("connections after the abandon").isEqualTo(attempts);
                        assertThat(loopback.reports()).hasSize(reportsBefore);
                        assertThat(migration.recover()).as("nothing paused to recover").isFalse();
                    });
            assertThat(last).as("the migration ended without a final report").isNull();
            assertThat(answer.get()).isNotNull();
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
        }
    }

    @Test
    void abandonedOnTheDestinationMissingPagesBecomeZeroNothingWaitsAndWhatArrivedIsTheSourcesBytes()
            throws Exception {
        GuestSpec spec = spec(0);   // no disk writes: the memory writes replay from the seed alone
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED)) {
            pausedPostcopy(source, destination, (migration, loopback, link, src, dst) -> {
                // the source's worker is gone; its guest stays paused as at the switch: the test's reference
                loopback.stopSource();
                IncomingMigration incoming = loopback.lastIncoming();
                // the guest waits on a missing page: its writes stall
                long stalled = dst.memoryWrites();
                Thread.sleep(300);
                assertThat(dst.memoryWrites()).as("the workload waits for a page").isEqualTo(stalled);
                assertThat(dst.disk(diskId).activeGeneration()).isEqualTo(3);
                Map<String, Long> granted = loopback.ownership().keep(LocalOwnership.DESTINATION);
                int reportsBefore = loopback.reports().size();
                List<long[]> arrived = new ArrayList<>();
                long missing = 0;
                AbandonReport report;
                // the workload held still (its state untouched) while the bytes are compared
                try (var hold = dst.holdWorkload()) {
                    for (int b = 0; b < dst.memory().blocks().size(); b++) {
                        long[] words = incoming.arrivedPages(b);
                        arrived.add(words);
                        missing += dst.memory().blocks().get(b).pageCount()
                                - Arrays.stream(words).map(Long::bitCount).sum();
                    }
                    assertThat(missing).as("pages still at the source").isGreaterThan(100);

                    report = incoming.abandonPostcopy("source host lost", granted);

                    assertThat(report.side()).isEqualTo(AbandonReport.DESTINATION);
                    assertThat(report.lostPages()).isEqualTo(missing);
                    assertThat(report.guest().state()).isEqualTo(io.ferry.channel.ReportedGuestState.RUNNING);
                    assertThat(dst.disk(diskId).activeGeneration()).isEqualTo(4);
                    assertBytes(src, dst, arrived, missing);
                }
                // nothing waits any more: the workload goes on at its rate, through the pages that were lost
                long writes = dst.memoryWrites();
                await().atMost(Duration.ofSeconds(5)).until(() -> dst.memoryWrites() > writes + 5000);
                assertThat(dst.state()).isEqualTo(GuestState.RUNNING);
                assertThat(incoming.acceptsRecovery()).as("no connection takes the stream over").isFalse();
                assertThat(incoming.acceptsPreempt()).isFalse();
                assertThatThrownBy(() -> incoming.abandonPostcopy("again", granted))
                        .isInstanceOf(IllegalStateException.class);
                Thread.sleep(1_500);   // past the destination's once-a-second fault report
                assertThat(loopback.reports()).hasSize(reportsBefore);
            });
        }
    }

    @Test
    void aMigrationStillInPrecopyIsNotAbandonedAndRunsOnUntilCancelled() throws Exception {
        GuestSpec spec = spec(20);
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            MigrationReport report = loopback.run(source, destination, 4 * MIB, 1, false, false,
                    MigrationSettings.PostcopySettings.after(0), migration -> {
                        await().atMost(Duration.ofSeconds(30)).until(() -> migration.progress().ram().transferred() > 2 * MIB);
                        assertThatThrownBy(() -> migration.abandonPostcopy("operator", Map.of(diskId, 2L)))
                                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not a paused post-copy");
                        assertThatThrownBy(() -> loopback.lastIncoming().abandonPostcopy("operator",
                                Map.of(diskId, 2L))).isInstanceOf(IllegalStateException.class)
                                .hasMessageContaining("not a paused post-copy");
                        assertThat(source.disk(diskId).activeGeneration()).as("untouched").isEqualTo(1);
                        assertThat(migration.cancel()).isTrue();
                    });
            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.CANCELLED);
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
        }
    }

    /**
     * Right after the abandon, the destination's workload held: every lost page is zeros (before it,
     * an access to a missing page waited, so the guest never wrote one), and the rest is the
     * source's memory at the switch plus exactly the writes the destination made, page by page.
     */
    private static void assertBytes(SyntheticGuest source, SyntheticGuest destination, List<long[]> arrived,
                                    long missing) {
        List<byte[]> expected = snapshot(source);
        replayWrites(expected, destination.memoryWrites());
        byte[] zeros = new byte[RamBlock.PAGE_SIZE];
        long zeroChecked = 0;
        long differingFromSource = 0;
        for (int b = 0; b < expected.size(); b++) {
            RamBlock block = destination.memory().blocks().get(b);
            for (long p = 0; p < block.pageCount(); p++) {
                byte[] actual = page(block, p);
                if ((arrived.get(b)[(int) (p >>> 6)] & (1L << p)) == 0) {
                    assertThat(actual).as("lost page %d of %s", p, block.name()).isEqualTo(zeros);
                    zeroChecked++;
                    if (!Arrays.equals(page(source.memory().blocks().get(b), p), zeros)) {
                        differingFromSource++;
                    }
                } else {
                    byte[] want = Arrays.copyOfRange(expected.get(b), (int) (p * RamBlock.PAGE_SIZE),
                            (int) ((p + 1) * RamBlock.PAGE_SIZE));
                    assertThat(actual).as("arrived page %d of %s", p, block.name()).isEqualTo(want);
                }
            }
        }
        assertThat(zeroChecked).isEqualTo(missing);
        assertThat(differingFromSource).as("lost pages that held data at the source").isPositive();
    }

    /** The first page at or after {@code from} whose bit is clear, or -1 past the words. */
    private static long firstMissing(long[] words, long from) {
        for (long p = from; p < (long) words.length * 64; p++) {
            if ((words[(int) (p >>> 6)] & (1L << p)) == 0) {
                return p;
            }
        }
        return -1;
    }

    private static byte[] page(RamBlock block, long page) {
        ByteBuf out = Unpooled.buffer(RamBlock.PAGE_SIZE);
        block.readPage(page, out);
        byte[] bytes = new byte[RamBlock.PAGE_SIZE];
        out.readBytes(bytes);
        out.release();
        return bytes;
    }

    /** Each block's bytes, copied out. */
    private static List<byte[]> snapshot(SyntheticGuest guest) {
        List<byte[]> blocks = new ArrayList<>();
        for (RamBlock block : guest.memory().blocks()) {
            byte[] bytes = new byte[(int) block.sizeBytes()];
            for (long p = 0; p < block.pageCount(); p++) {
                System.arraycopy(page(block, p), 0, bytes, (int) (p * RamBlock.PAGE_SIZE), RamBlock.PAGE_SIZE);
            }
            blocks.add(bytes);
        }
        return blocks;
    }

    /** The workload's first {@code writes} memory writes from {@link #SEED} (see PostcopyEngineTest.replayWrites). */
    private static void replayWrites(List<byte[]> memory, long writes) {
        long total = 0;
        long[] firstPages = new long[memory.size()];
        for (int b = 0; b < memory.size(); b++) {
            firstPages[b] = total;
            total += memory.get(b).length / RamBlock.PAGE_SIZE;
        }
        long hot = Math.max(1, Math.min(total, (long) Math.ceil(HOT_SET * total)));
        SplittableRandom random = new SplittableRandom(SEED);
        for (long n = 0; n < writes; n++) {
            long hotPage = random.nextLong(hot);
            int block = firstPages.length - 1;
            while (firstPages[block] > hotPage) {
                block--;
            }
            long page = hotPage - firstPages[block];
            int offset = random.nextInt(RamBlock.PAGE_SIZE / 64) * 64;
            ByteBuffer target = ByteBuffer.wrap(memory.get(block)).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 64; i += 8) {
                target.putLong((int) (page * RamBlock.PAGE_SIZE + offset + i), random.nextLong());
            }
        }
    }
}
