package io.ferry.migration;

import io.ferry.bench.GuestContent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-copy with QEMU's multifd channels beside the main stream, checked on bytes: pages of every
 * round travel on several connections and still arrive in order (a sync point per round), a
 * change behind the dirty log is still caught, and one broken channel fails the job cleanly with
 * the guest running on at the source.
 */
class MultifdEngineTest {

    private static final long MIB = 1L << 20;

    @TempDir
    Path datastore;

    @Test
    void aGuestThatKeepsWritingArrivesWhole_OverFourChannels() throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(48 * MIB, new WorkloadSpec(5000, 0.5, 0, 3));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(4);
             LinkCutter link = new LinkCutter(loopback.dataAddress())) {
            loopback.routeThrough(link.address());
            GuestContent.fillRandom(source.memory().blocks().get(0), 11);
            // a limited link makes several rounds, each with its own sync point, while the guest writes
            MigrationReport report = loopback.run(source, destination, 64 * MIB, 300, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(link.accepted()).as("the main stream and four multifd channels").isEqualTo(5);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
            assertThat(EngineGuests.destinationMemory(loopback)).isEqualTo(report.progress().verification().sourceMemory());
            assertThat(report.progress().ram().iterations()).isGreaterThanOrEqualTo(1);
            assertThat(report.progress().ram().duplicate()).as("zero pages (vga.vram) counted").isPositive();
        }
    }

    @Test
    void anIdleGuestArrivesIdentical_ZeroAndDataPagesMixed() throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(32 * MIB, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(3)) {
            RamBlock ram = source.memory().blocks().get(0);
            // every third page written, the rest zero: packets carry both kinds
            ByteBuf page = Unpooled.buffer(4096).writeZero(4096);
            for (long p = 0; p < ram.pageCount(); p += 3) {
                page.setLong(8 * (int) (p % 512), p + 1);
                ram.writePage(p, page, 0);
            }
            page.release();
            source.pause();
            GuestChecksums before = source.checksums();
            MigrationReport report = loopback.run(source, destination, 0, 300, false, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(destination.checksums().memory()).isEqualTo(before.memory());
            assertThat(destination.state()).isEqualTo(GuestState.PAUSED);
        }
    }

    /** A page changed behind the dirty log after it was sent: the destination must refuse the result. */
    @Test
    void aPageChangedBehindTheDirtyLogIsCaught_WithSeveralChannels() throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(24 * MIB, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(4)) {
            RamBlock ram = source.memory().blocks().get(0);
            GuestContent.fillRandom(ram, 3);
            MigrationReport report = loopback.run(source, destination, 8 * MIB, 300, true, migration ->
                    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() -> {
                        if (migration.progress().ram().transferred() < 3 * MIB) {
                            return false;
                        }
                        ByteBuf page = Unpooled.buffer(4096).writeZero(4096);
                        page.setLong(0, 0x0BAD_BAD0_0BAD_BAD0L);
                        ram.writePage(0, page);   // page 0 went first; not marked dirty
                        page.release();
                        return true;
                    }));

            assertThat(report.phase()).isEqualTo(MigrationPhase.FAILED);
            assertThat(report.reason()).contains("rejected the stream", "memory checksum mismatch");
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
        }
    }

    @Test
    void oneChannelBreakingMidRoundFailsTheJobAndTheGuestRunsOnAtTheSource() throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(48 * MIB, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(4);
             LinkCutter link = new LinkCutter(loopback.dataAddress())) {
            loopback.routeThrough(link.address());
            GuestContent.fillRandom(source.memory().blocks().get(0), 5);
            GuestChecksums before = source.checksums();
            MigrationReport report = loopback.run(source, destination, 8 * MIB, 300, false, migration ->
                    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() -> {
                        if (migration.progress().ram().transferred() < 4 * MIB) {
                            return false;
                        }
                        link.cut(2);   // the second multifd channel (0 is the main stream)
                        return true;
                    }));

            assertThat(report.phase()).isEqualTo(MigrationPhase.FAILED);
            assertThat(report.reason()).contains("multifd channel");
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
            assertThat(source.checksums().memory()).as("not a guest byte lost").isEqualTo(before.memory());
            await().atMost(Duration.ofSeconds(10)).until(() -> destination.state() != GuestState.RUNNING);
            assertThat(destination.state()).isNotEqualTo(GuestState.RUNNING);
        }
    }

    /**
     * A cancel mid-round drops the incoming guest on the destination while its channels close:
     * neither side's event loops may wait on each other (they once did, and every later migration
     * of the worker hung). The same loops then carry a second migration to the end.
     */
    @Test
    void aCancelMidRoundDropsTheIncomingGuestAndTheNextMigrationStillRuns() throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(48 * MIB, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             SyntheticGuest second = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(4)) {
            GuestContent.fillRandom(source.memory().blocks().get(0), 21);
            MigrationReport cancelled = loopback.run(source, destination, 8 * MIB, 300, false, migration ->
                    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() ->
                            migration.progress().ram().transferred() > 4 * MIB && migration.cancel()));

            assertThat(cancelled.phase()).isEqualTo(MigrationPhase.CANCELLED);
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
            await().atMost(Duration.ofSeconds(10)).until(() -> loopback.lastIncoming().phase().terminal());
            assertThat(loopback.lastIncoming().phase().guestRunsHere()).isFalse();

            MigrationReport report = loopback.run(source, second, 0, 300, true, null);
            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(EngineGuests.destinationMemory(loopback)).isEqualTo(report.progress().verification().sourceMemory());
        }
    }

    /**
     * A page that arrived with data and is zero at the source by the next round arrives as a zero
     * page: the destination must zero its older copy (a zero page for a page never sent needs
     * nothing, as fresh memory is zero). Over one stream and over several channels.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 3})
    void aPageZeroedAfterItWasSentArrivesZero(int channels) throws Exception {
        GuestSpec spec = EngineGuests.twoBlocks(24 * MIB, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration().channels(channels)) {
            RamBlock ram = source.memory().blocks().get(0);
            GuestContent.fillRandom(ram, 31);
            MigrationReport report = loopback.run(source, destination, 8 * MIB, 300, true, migration ->
                    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() -> {
                        if (migration.progress().ram().transferred() < 3 * MIB) {
                            return false;
                        }
                        for (long page = 0; page < 64; page++) {   // sent already: zero them, as a guest would
                            ram.writePage(page, Unpooled.buffer(4096).writeZero(4096));
                            source.dirtyLog("pc.ram").mark(page);
                        }
                        return true;
                    }));

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(EngineGuests.destinationMemory(loopback)).isEqualTo(report.progress().verification().sourceMemory());
            assertThat(destination.memory().blocks().get(0).isZeroPage(5)).isTrue();
        }
    }
}
