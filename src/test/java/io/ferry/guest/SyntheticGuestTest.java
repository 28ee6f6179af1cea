package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.MIB;
import static io.ferry.guest.GuestFixtures.dirtyPages;
import static io.ferry.guest.GuestFixtures.sha256;
import static io.ferry.guest.GuestFixtures.sha256OfZeros;
import static io.ferry.guest.GuestFixtures.smallGuest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticGuestTest {

    private static final Duration PATIENCE = Duration.ofSeconds(5);

    @TempDir
    Path datastore;

    private SyntheticGuest guest;

    @AfterEach
    void closeGuest() {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    void freshGuestChecksumsAreThoseOfZeros() throws IOException {
        guest = SyntheticGuest.create(smallGuest("fresh", WorkloadSpec.idle()), datastore);

        GuestChecksums sums = guest.checksums();

        assertThat(sums.memory()).isEqualTo(sha256OfZeros(16 * MIB));
        assertThat(sums.ramBlocks()).containsExactly(
                new GuestChecksums.BlockChecksum("pc.ram", 12 * MIB, sha256OfZeros(12 * MIB)),
                new GuestChecksums.BlockChecksum("vga.vram", 4 * MIB, sha256OfZeros(4 * MIB)));
        assertThat(sums.disks()).containsExactly(
                new GuestChecksums.DiskChecksum("disk-0", "virtio-disk0", sha256OfZeros(MIB)));
        assertThat(sums.deviceState()).isEqualTo(sha256(guest.deviceState()));
        assertThat(datastore.resolve("disk-0.img")).hasSize(MIB);
    }

    @Test
    void runningWorkloadChangesMemoryAndMarksDirtyPages() throws IOException {
        guest = SyntheticGuest.create(smallGuest("busy", new WorkloadSpec(2000, 1.0, 0, 42)), datastore);

        await().atMost(PATIENCE).until(() -> guest.memoryWrites() >= 20);

        GuestChecksums sums = guest.checksums();
        assertThat(sums.memory()).isNotEqualTo(sha256OfZeros(16 * MIB));
        assertThat(sums.deviceState()).isNotEqualTo(sha256(new DeviceState(4096, 42).copy()));
        assertThat(dirtyPages(guest)).isPositive();
        assertThat(guest.state()).isEqualTo(GuestState.RUNNING);
    }

    /** One hot page, written from zero: after the first writes, what is no longer zero is what they rewrote. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {8, 64, 4096})
    void eachMemoryWriteRewritesBytesPerWriteOfItsPage(int bytesPerWrite) throws IOException {
        guest = SyntheticGuest.create(smallGuest("partial", new WorkloadSpec(200, 1e-9, 0, 9, bytesPerWrite)),
                datastore);
        await().atMost(PATIENCE).until(() -> guest.memoryWrites() >= 1);
        guest.pause();
        long writes = guest.memoryWrites();
        io.netty.buffer.ByteBuf page = guest.memory().blocks().get(0).pageView(0);
        int changed = 0;
        for (int i = 0; i < 4096; i++) {
            changed += page.getByte(i) != 0 ? 1 : 0;
        }
        // random bytes: a few of them are zero
        assertThat(changed).isLessThanOrEqualTo((int) Math.min(4096, writes * bytesPerWrite))
                .isGreaterThan(bytesPerWrite * 9 / 10);
        assertThat(guest.memory().blocks().get(0).isZeroPage(1)).as("only the hot page").isTrue();
    }

    @Test
    void pauseStopsMemoryAndDiskWritesUntilResumed() throws Exception {
        guest = SyntheticGuest.create(smallGuest("pausing", new WorkloadSpec(1_000_000, 1.0, 500, 7)), datastore);
        await().atMost(PATIENCE).until(() -> guest.memoryWrites() > 0 && guest.diskWrites() > 0);

        guest.pause();
        takeAllDirtyLogs();
        long memoryWrites = guest.memoryWrites();
        long diskWrites = guest.diskWrites();
        GuestChecksums paused = guest.checksums();
        Thread.sleep(200);

        assertThat(guest.checksums()).isEqualTo(paused);
        assertThat(dirtyPages(guest)).isZero();
        assertThat(guest.disk("disk-0").dirtyLog().count()).isZero();
        assertThat(guest.memoryWrites()).isEqualTo(memoryWrites);
        assertThat(guest.diskWrites()).isEqualTo(diskWrites);
        assertThat(guest.state()).isEqualTo(GuestState.PAUSED);

        guest.resume();
        await().atMost(PATIENCE).until(() -> dirtyPages(guest) > 0);
        assertThat(guest.checksums().memory()).isNotEqualTo(paused.memory());
    }

    @Test
    void deviceStateCounterCountsEveryWrite() {
        guest = GuestFixtures.create(smallGuest("counting", new WorkloadSpec(3000, 1.0, 300, 3)), datastore);
        await().atMost(PATIENCE).until(() -> guest.diskWrites() > 10);
        guest.pause();

        long counter = ByteBuffer.wrap(guest.deviceState()).order(ByteOrder.LITTLE_ENDIAN).getLong(0);

        assertThat(counter).isEqualTo(guest.memoryWrites() + guest.diskWrites());
    }

    @Test
    void hotSetOfAQuarterDirtiesOnlyTheFirstQuarterOfPages() {
        // 2 MiB + 14 MiB: the hot quarter (1024 pages) is all of block 1 and the first 512 pages of block 2.
        GuestSpec spec = new GuestSpec("hot",
                List.of(new RamBlockSpec("low", 2 * MIB), new RamBlockSpec("high", 14 * MIB)),
                List.of(), 64, new WorkloadSpec(50_000, 0.25, 0, 11));
        guest = GuestFixtures.create(spec, datastore);
        await().atMost(PATIENCE).until(() -> guest.memoryWrites() >= 10_000);
        guest.pause();

        DirtyBitmap low = guest.dirtyLog("low");
        DirtyBitmap high = guest.dirtyLog("high");
        long[] highPages = new long[high.wordCount()];
        long highDirty = high.syncAndClear(highPages);

        assertThat(DirtyBitmap.nextSetBit(highPages, 512)).as("first dirty page past the hot set").isEqualTo(-1);
        // 10k uniform writes over 1024 pages leave next to none untouched.
        assertThat(low.count()).isGreaterThan(500);
        assertThat(highDirty).isGreaterThan(500);
    }

    @Test
    void writeRatesAreHonoured() throws InterruptedException {
        guest = GuestFixtures.create(smallGuest("rated", new WorkloadSpec(2000, 1.0, 200, 5)), datastore);
        Thread.sleep(100); // past start-up

        long start = System.nanoTime();
        long memoryBefore = guest.memoryWrites();
        long diskBefore = guest.diskWrites();
        Thread.sleep(1000);
        long memory = guest.memoryWrites() - memoryBefore;
        long disk = guest.diskWrites() - diskBefore;
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(memory / seconds).as("memory writes per second").isBetween(1500.0, 2500.0);
        assertThat(disk / seconds).as("disk writes per second").isBetween(150.0, 250.0);
    }

    @Test
    void diskWritesChangeTheDiskChecksumAndTheImageFile() throws IOException {
        guest = SyntheticGuest.create(smallGuest("disky", new WorkloadSpec(0, 1.0, 1000, 9)), datastore);
        Path image = datastore.resolve("disk-0.img");
        await().atMost(PATIENCE).until(() -> guest.diskWrites() >= 20);
        guest.pause();
        guest.disk("disk-0").flush();

        String diskSum = guest.checksums().disks().get(0).sha256();

        assertThat(diskSum).isNotEqualTo(sha256OfZeros(MIB));
        assertThat(sha256(Files.readAllBytes(image))).isEqualTo(diskSum);
        assertThat(guest.disk("disk-0").dirtyLog().count()).isPositive();
        assertThat(guest.memoryWrites()).isZero();
        assertThat(guest.workloadFailure()).isEmpty();
    }

    @Test
    void workloadThreadIsNamedForTheGuestAndIdleGuestsHaveNone() {
        guest = GuestFixtures.create(smallGuest("named", new WorkloadSpec(100, 1.0, 0, 1)), datastore);
        try (SyntheticGuest idle = GuestFixtures.create(smallGuest("sleepy", WorkloadSpec.idle()), datastore.resolve("idle"))) {
            assertThat(workloadThread("named")).isNotNull().matches(Thread::isDaemon);
            assertThat(workloadThread("sleepy")).isNull();
        }
        guest.close();
        assertThat(workloadThread("named")).isNull();
    }

    @Test
    void statesFollowTheTransitionTable() {
        guest = GuestFixtures.create(smallGuest("states", new WorkloadSpec(5000, 1.0, 0, 2)), datastore);

        guest.setState(GuestState.MIGRATING_OUT);
        long writes = guest.memoryWrites();
        await().atMost(PATIENCE).until(() -> guest.memoryWrites() > writes); // live: still writing

        guest.setState(GuestState.PAUSED);
        long pausedWrites = guest.memoryWrites();
        assertThat(guest.compareAndSetState(GuestState.RUNNING, GuestState.MIGRATING_OUT)).isFalse();
        assertThatIllegalStateException().isThrownBy(() -> guest.setState(GuestState.INCOMING))
                .withMessageContaining("PAUSED").withMessageContaining("INCOMING");
        guest.pause(); // already paused: no-op
        assertThat(guest.state()).isEqualTo(GuestState.PAUSED);
        assertThat(guest.memoryWrites()).isEqualTo(pausedWrites);

        assertThat(guest.compareAndSetState(GuestState.PAUSED, GuestState.RUNNING)).isTrue();
        assertThat(guest.state()).isEqualTo(GuestState.RUNNING);
    }

    @Test
    void incomingGuestStaysStillAndTakesDeviceStateUntilStarted() throws IOException {
        guest = SyntheticGuest.createIncoming(smallGuest("arriving", new WorkloadSpec(5000, 1.0, 0, 4)), datastore,
                SyntheticGuest.IncomingImages.COPY);
        byte[] arrived = new byte[4096 + 8];   // the blob, then the acknowledged disk-write count
        arrived[100] = 42;
        arrived[4096] = 5;

        guest.loadDeviceState(arrived);

        assertThat(guest.state()).isEqualTo(GuestState.INCOMING);
        assertThat(guest.deviceState()).isEqualTo(arrived);
        assertThat(guest.checksums().deviceState()).isEqualTo(sha256(arrived));
        assertThat(guest.memoryWrites()).isZero();
        assertThat(guest.diskWritesAcknowledged()).isEqualTo(5);

        guest.setState(GuestState.RUNNING);
        await().atMost(PATIENCE).until(() -> guest.memoryWrites() > 0);
        assertThatIllegalStateException().isThrownBy(() -> guest.loadDeviceState(arrived));
    }

    @Test
    void closeKeepsImagesAndToleratesRepeatsDeleteImagesRemovesThem() throws IOException {
        guest = SyntheticGuest.create(smallGuest("closing", new WorkloadSpec(1000, 1.0, 100, 6)), datastore);
        Path image = datastore.resolve("disk-0.img");

        guest.close();
        guest.close();

        assertThat(image).exists();
        assertThatIllegalStateException().isThrownBy(() -> guest.checksums());
        assertThatIllegalStateException().isThrownBy(() -> guest.resume());
        guest.deleteImages();
        assertThat(image).doesNotExist();
    }

    private void takeAllDirtyLogs() {
        for (RamBlock block : guest.memory().blocks()) {
            DirtyBitmap log = guest.dirtyLog(block.name());
            log.syncAndClear(new long[log.wordCount()]);
        }
        DirtyBitmap disk = guest.disk("disk-0").dirtyLog();
        disk.syncAndClear(new long[disk.wordCount()]);
    }

    private static Thread workloadThread(String guestId) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("workload-" + guestId) && t.isAlive())
                .findFirst().orElse(null);
    }
}
