package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskImageTest {

    @TempDir
    Path dir;

    @Test
    void absentImageIsCreatedSparseAndReadsZero() throws IOException {
        Path path = dir.resolve("d0.img");
        try (DiskImage image = DiskImage.open(path, 64 * MIB)) {
            assertThat(Files.size(path)).isEqualTo(64 * MIB);
            assertThat(allocatedBytes(path)).isLessThan(MIB);
            assertThat(image.sha256()).isEqualTo(GuestFixtures.sha256OfZeros(64 * MIB));
            assertThat(image.blockCount()).isEqualTo(64 * MIB / DiskImage.BLOCK_SIZE);
        }
    }

    // The JDK does not expose st_blocks; stat(1) does.
    private static long allocatedBytes(Path path) throws IOException {
        Process stat = new ProcessBuilder("stat", "-c", "%b %B", path.toString()).start();
        String[] out = new String(stat.getInputStream().readAllBytes()).trim().split(" ");
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }

    @Test
    void writtenBlockReadsBackIsMarkedDirtyAndReachesTheFile() throws IOException {
        Path path = dir.resolve("d0.img");
        byte[] data = GuestMemoryTest.randomPage(4);
        try (DiskImage image = DiskImage.open(path, MIB)) {
            image.activate(1);
            image.write(3, ByteBuffer.wrap(data));
            image.flush();

            ByteBuffer back = ByteBuffer.allocate(DiskImage.BLOCK_SIZE);
            image.read(3, back);
            assertThat(back.array()).isEqualTo(data);
            assertThat(back.hasRemaining()).isFalse();
            assertThat(image.dirtyLog().isDirty(3)).isTrue();
            assertThat(image.dirtyLog().count()).isOne();
        }
        byte[] file = Files.readAllBytes(path);
        assertThat(Arrays.copyOfRange(file, 3 * 4096, 4 * 4096)).isEqualTo(data);
    }

    @Test
    void existingImageOfTheSameSizeKeepsItsContent() throws IOException {
        Path path = dir.resolve("d0.img");
        String written;
        try (DiskImage image = DiskImage.open(path, MIB)) {
            image.activate(1);
            image.write(0, ByteBuffer.wrap(GuestMemoryTest.randomPage(5)));
            written = image.sha256();
        }
        try (DiskImage again = DiskImage.open(path, MIB)) {
            assertThat(again.sha256()).isEqualTo(written).isNotEqualTo(GuestFixtures.sha256OfZeros(MIB));
        }
    }

    @Test
    void existingImageOfAnotherSizeIsRefused() throws IOException {
        Path path = dir.resolve("d0.img");
        Files.write(path, new byte[8192]);

        assertThatThrownBy(() -> DiskImage.open(path, MIB))
                .isInstanceOf(IOException.class).hasMessageContaining("8192").hasMessageContaining(String.valueOf(MIB));
        assertThat(Files.size(path)).isEqualTo(8192);
    }

    @Test
    void blockOutsideTheImageOrShortBufferIsRejected() throws IOException {
        try (DiskImage image = DiskImage.open(dir.resolve("d0.img"), MIB)) {
            image.activate(1);
            ByteBuffer block = ByteBuffer.allocate(DiskImage.BLOCK_SIZE);
            assertThatThrownBy(() -> image.write(image.blockCount(), block)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> image.read(-1, block)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> image.write(0, ByteBuffer.allocate(100))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closeIsIdempotentAndKeepsTheFile() throws IOException {
        Path path = dir.resolve("d0.img");
        DiskImage image = DiskImage.open(path, MIB);
        image.close();
        image.close();

        assertThat(image.isOpen()).isFalse();
        assertThat(path).exists();
    }

    @Test
    void anImageOpensInactiveAndRefusesTheGuestsWritesUntilActivated() throws IOException {
        Path path = dir.resolve("d0.img");
        try (DiskImage image = DiskImage.open(path, MIB)) {
            assertThat(image.isActive()).isFalse();
            assertThatThrownBy(() -> image.write(1, ByteBuffer.wrap(GuestMemoryTest.randomPage(6))))
                    .isInstanceOf(InactiveImageException.class).hasMessageContaining("inactive");
            assertThat(image.sha256()).isEqualTo(GuestFixtures.sha256OfZeros(MIB));
            assertThat(image.dirtyLog().count()).isZero();

            image.activate(4);
            assertThat(image.activeGeneration()).isEqualTo(4);
            image.write(1, ByteBuffer.wrap(GuestMemoryTest.randomPage(6)));
            assertThatThrownBy(() -> image.activate(3)).isInstanceOf(IllegalStateException.class);

            image.inactivate();
            String fenced = image.sha256();
            assertThatThrownBy(() -> image.write(2, ByteBuffer.wrap(GuestMemoryTest.randomPage(7))))
                    .isInstanceOf(InactiveImageException.class);
            assertThat(image.sha256()).isEqualTo(fenced);
        }
    }

    @Test
    void onlyAnInactiveImageCreatedForACopyTakesAMigrationsWrites() throws IOException {
        Path stale = dir.resolve("copy.img");
        Files.write(stale, GuestMemoryTest.randomPage(8));   // left from an earlier stay on this host
        try (DiskImage copy = DiskImage.createForCopy(stale, MIB);
             DiskImage shared = DiskImage.open(dir.resolve("shared.img"), MIB)) {
            assertThat(copy.sha256()).isEqualTo(GuestFixtures.sha256OfZeros(MIB));
            byte[] chunk = new byte[3 * DiskImage.BLOCK_SIZE];
            Arrays.fill(chunk, (byte) 7);
            // a chunk running past the end is cut at the end of the image
            copy.writeIncoming(MIB - 2 * DiskImage.BLOCK_SIZE, ByteBuffer.wrap(chunk));
            assertThat(Files.size(stale)).isEqualTo(MIB);
            ByteBuffer last = ByteBuffer.allocate(DiskImage.BLOCK_SIZE);
            copy.read(copy.blockCount() - 1, last);
            assertThat(last.array()).containsOnly((byte) 7);

            assertThatThrownBy(() -> shared.writeIncoming(0, ByteBuffer.wrap(chunk)))
                    .isInstanceOf(InactiveImageException.class);
            copy.activate(3);
            assertThatThrownBy(() -> copy.writeIncoming(0, ByteBuffer.wrap(chunk)))
                    .isInstanceOf(InactiveImageException.class);
        }
        assertThatThrownBy(() -> DiskImage.openExisting(dir.resolve("absent.img"), MIB))
                .isInstanceOf(IOException.class).hasMessageContaining("does not exist");
        assertThat(dir.resolve("absent.img")).doesNotExist();
    }

    @Test
    void theWorkloadsWritesFollowItsPatternAndRefusedOnesAreNotAcknowledged() throws Exception {
        GuestSpec spec = GuestFixtures.smallGuest("g-pattern", new WorkloadSpec(0, 1.0, 2000, 9));
        try (SyntheticGuest guest = SyntheticGuest.create(spec, dir)) {
            org.awaitility.Awaitility.await().until(() -> guest.diskWritesAcknowledged() > 500);
            guest.inactivateDisks();
            long acknowledged = guest.diskWritesAcknowledged();
            org.awaitility.Awaitility.await().until(() -> guest.diskWriteErrors() > 20);
            guest.pause();
            assertThat(guest.diskWritesAcknowledged()).isEqualTo(acknowledged);
            GuestChecksums sums = guest.checksums();
            assertThat(sums.diskWritesAcknowledged()).isEqualTo(acknowledged);
            assertThat(sums.disks().get(0).sha256()).isEqualTo(
                    DiskWritePattern.expectedSha256(9, acknowledged, new long[] {MIB})[0]);
        }
    }
}
