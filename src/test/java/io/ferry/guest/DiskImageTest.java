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
}
