package io.ferry.guest;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A raw disk image file addressed in {@link #BLOCK_SIZE} blocks, with its own dirty log.
 *
 * <p>The file is created sparse (ftruncate) when absent, so a fresh disk reads as zeros and takes
 * no space. An existing file is reopened as is — images live on shared storage and outlive the
 * process that hosts the guest — but only if its size matches, since a different size means a
 * different disk. Reads and writes are positional, hence safe from several threads at once; but
 * a thread interrupted during I/O closes the channel for all (FileChannel's rule), so writers are
 * stopped by flags, never by interrupts.
 */
public final class DiskImage implements AutoCloseable {

    public static final int BLOCK_SIZE = 4096;

    private final Path path;
    private final long sizeBytes;
    private final FileChannel channel;
    private final DirtyBitmap dirtyLog;

    private DiskImage(Path path, long sizeBytes, FileChannel channel) {
        this.path = path;
        this.sizeBytes = sizeBytes;
        this.channel = channel;
        this.dirtyLog = new DirtyBitmap(sizeBytes / BLOCK_SIZE);
    }

    /**
     * Opens the image at {@code path}, creating it sparse with {@code sizeBytes} if absent.
     *
     * @throws IllegalArgumentException if the size is not a positive multiple of the block size
     * @throws IOException if an existing file has a different size, or the file cannot be opened
     */
    public static DiskImage open(Path path, long sizeBytes) throws IOException {
        Objects.requireNonNull(path, "path");
        if (sizeBytes <= 0 || sizeBytes % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException(
                    "sizeBytes must be a positive multiple of " + BLOCK_SIZE + ", was " + sizeBytes);
        }
        boolean created;
        try {
            Files.createFile(path);
            created = true;
        } catch (FileAlreadyExistsException e) {
            created = false;
        }
        RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw");
        try {
            if (created) {
                file.setLength(sizeBytes);
            } else if (file.length() != sizeBytes) {
                throw new IOException("existing image " + path + " has " + file.length()
                        + " bytes, expected " + sizeBytes);
            }
            return new DiskImage(path, sizeBytes, file.getChannel());
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public long blockCount() {
        return sizeBytes / BLOCK_SIZE;
    }

    /** One bit per block, set after each {@link #write}. */
    public DirtyBitmap dirtyLog() {
        return dirtyLog;
    }

    /** Writes exactly {@link #BLOCK_SIZE} remaining bytes of {@code data} to {@code block}, then marks it dirty. */
    public void write(long block, ByteBuffer data) throws IOException {
        long position = position(block);
        if (data.remaining() != BLOCK_SIZE) {
            throw new IllegalArgumentException("data must have exactly " + BLOCK_SIZE
                    + " bytes remaining, has " + data.remaining());
        }
        while (data.hasRemaining()) {
            position += channel.write(data, position);
        }
        dirtyLog.mark(block);
    }

    /** Reads {@code block} into the next {@link #BLOCK_SIZE} bytes of {@code into}, advancing its position. */
    public void read(long block, ByteBuffer into) throws IOException {
        long position = position(block);
        if (into.remaining() < BLOCK_SIZE) {
            throw new IllegalArgumentException("into needs " + BLOCK_SIZE + " bytes remaining, has " + into.remaining());
        }
        ByteBuffer window = into.duplicate().limit(into.position() + BLOCK_SIZE);
        while (window.hasRemaining()) {
            int read = channel.read(window, position);
            if (read < 0) {
                throw new IOException("image " + path + " ended early at " + position);
            }
            position += read;
        }
        into.position(window.position());
    }

    /** Forces written blocks to the storage device. */
    public void flush() throws IOException {
        channel.force(false);
    }

    /** SHA-256 of the whole image, lowercase hex. Not a snapshot: quiesce writers first. */
    public String sha256() throws IOException {
        MessageDigest digest = Sha256.newDigest();
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        long position = 0;
        while (position < sizeBytes) {
            buffer.clear();
            int read = channel.read(buffer, position);
            if (read < 0) {
                throw new IOException("image " + path + " ended early at " + position);
            }
            position += read;
            digest.update(buffer.flip());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    public boolean isOpen() {
        return channel.isOpen();
    }

    /** Closes the file, leaving it in place. Idempotent. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private long position(long block) {
        Objects.checkIndex(block, blockCount());
        return block * BLOCK_SIZE;
    }

    @Override
    public String toString() {
        return "DiskImage[" + path + ", " + sizeBytes + " bytes]";
    }
}
