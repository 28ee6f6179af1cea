package io.ferry.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * A source QEMU's guest RAM as a file (in /dev/shm: memory, not disk): random bytes, or sparse
 * and so all zero. Closing it deletes the file.
 */
final class GuestMemoryFile implements AutoCloseable {

    private static final int CHUNK = 1 << 20;

    private final Path path;

    private GuestMemoryFile(Path path) {
        this.path = path;
    }

    /** A new file of {@code bytes} in {@code dir}: random (seed 42) when {@code random}, else a hole. */
    static GuestMemoryFile create(Path dir, long bytes, boolean random) throws IOException {
        Path path = dir.resolve("ferry-bench-qemu-" + UUID.randomUUID() + ".ram");
        GuestMemoryFile file = new GuestMemoryFile(path);
        try {
            if (random) {
                fillRandom(path, bytes);
            } else {
                try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
                    raf.setLength(bytes);   // no page written: the guest reads zeros
                }
            }
            return file;
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** SplittableRandom longs through one direct 1 MiB buffer: about as fast as the copy into tmpfs. */
    private static void fillRandom(Path path, long bytes) throws IOException {
        SplittableRandom random = new SplittableRandom(42);
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.nativeOrder());
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long left = bytes; left > 0; left -= CHUNK) {
                chunk.clear();
                while (chunk.hasRemaining()) {
                    chunk.putLong(random.nextLong());
                }
                chunk.flip().limit((int) Math.min(CHUNK, left));
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
            }
        }
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        Files.deleteIfExists(path);
    }
}
