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
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A raw disk image file addressed in {@link #BLOCK_SIZE} blocks, with its own dirty log and a
 * fence.
 *
 * <p>The file is created sparse (ftruncate) when absent, so a fresh disk reads as zeros and takes
 * no space. An existing file is reopened as is — images live on shared storage and outlive the
 * process that hosts the guest — but only if its size matches, since a different size means a
 * different disk. Reads and writes are positional, hence safe from several threads at once; but
 * a thread interrupted during I/O closes the channel for all (FileChannel's rule), so writers are
 * stopped by flags, never by interrupts.
 *
 * <p>Fence: an image opens <em>inactive</em>, as QEMU opens images with {@code BDRV_O_INACTIVE}.
 * Only {@link #activate} with the ownership generation the control plane granted makes
 * {@link #write} (the guest's path) and the flush on {@link #close} possible;
 * {@link #inactivate} waits for writes in flight, flushes, and shuts the path again. A write on
 * an inactive image throws {@link InactiveImageException} and changes no byte. The one other
 * writer is a migration copying the image in ({@link #writeIncoming}), allowed only into an
 * image opened {@link #createForCopy for that purpose} and never once it is active.
 */
public final class DiskImage implements AutoCloseable {

    public static final int BLOCK_SIZE = 4096;

    private final Path path;
    private final long sizeBytes;
    private final FileChannel channel;
    private final DirtyBitmap dirtyLog;
    private final boolean copyTarget;
    /** Read-held by each write, write-held to change the fence, so no write straddles a change. */
    private final ReentrantReadWriteLock fence = new ReentrantReadWriteLock();
    /** The ownership generation this image is active under; 0 = inactive. Guarded by fence. */
    private volatile long activeGeneration;

    private DiskImage(Path path, long sizeBytes, FileChannel channel, boolean copyTarget) {
        this.path = path;
        this.sizeBytes = sizeBytes;
        this.channel = channel;
        this.copyTarget = copyTarget;
        this.dirtyLog = new DirtyBitmap(sizeBytes / BLOCK_SIZE);
    }

    /**
     * Opens the image at {@code path}, creating it sparse with {@code sizeBytes} if absent.
     *
     * @throws IllegalArgumentException if the size is not a positive multiple of the block size
     * @throws IOException if an existing file has a different size, or the file cannot be opened
     */
    public static DiskImage open(Path path, long sizeBytes) throws IOException {
        checkSize(sizeBytes);
        boolean created;
        try {
            Files.createFile(Objects.requireNonNull(path, "path"));
            created = true;
        } catch (FileAlreadyExistsException e) {
            created = false;
        }
        return open(path, sizeBytes, created, false);
    }

    /**
     * Opens an image that must already exist with this size: the destination's view of an image
     * on shared storage. Never creates a file, so a wrong path cannot make an empty disk.
     */
    public static DiskImage openExisting(Path path, long sizeBytes) throws IOException {
        checkSize(sizeBytes);
        if (!Files.isRegularFile(path)) {
            throw new IOException("image " + path + " does not exist on this host's datastore");
        }
        return open(path, sizeBytes, false, false);
    }

    /**
     * Creates (or empties) the image a migration copies in: sparse, all zero, inactive, and
     * writable only through {@link #writeIncoming} until it is activated.
     */
    public static DiskImage createForCopy(Path path, long sizeBytes) throws IOException {
        checkSize(sizeBytes);
        try (RandomAccessFile file = new RandomAccessFile(Objects.requireNonNull(path, "path").toFile(), "rw")) {
            file.setLength(0);   // a stale copy from an earlier stay on this host must not show through
        }
        return open(path, sizeBytes, true, true);
    }

    private static void checkSize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException(
                    "sizeBytes must be a positive multiple of " + BLOCK_SIZE + ", was " + sizeBytes);
        }
    }

    private static DiskImage open(Path path, long sizeBytes, boolean setLength, boolean copyTarget)
            throws IOException {
        RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw");
        try {
            if (setLength) {
                file.setLength(sizeBytes);
            } else if (file.length() != sizeBytes) {
                throw new IOException("existing image " + path + " has " + file.length()
                        + " bytes, expected " + sizeBytes);
            }
            return new DiskImage(path, sizeBytes, file.getChannel(), copyTarget);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * Makes the guest's writes possible under {@code generation} (≥ 1), the fencing token the
     * control plane granted this host. Re-activating with a newer generation is allowed.
     */
    public void activate(long generation) {
        if (generation < 1) {
            throw new IllegalArgumentException("generation must be >= 1, was " + generation);
        }
        fence.writeLock().lock();
        try {
            if (generation < activeGeneration) {
                throw new IllegalStateException("image " + path + " is active at generation " + activeGeneration
                        + "; refusing older generation " + generation);
            }
            activeGeneration = generation;
        } finally {
            fence.writeLock().unlock();
        }
    }

    /**
     * Waits for writes in flight, flushes them to storage, and fences the image: from here every
     * write fails until {@link #activate}. Idempotent.
     */
    public void inactivate() throws IOException {
        fence.writeLock().lock();
        try {
            if (activeGeneration != 0 && channel.isOpen()) {
                channel.force(false);
            }
            activeGeneration = 0;
        } finally {
            fence.writeLock().unlock();
        }
    }

    /** The generation this image is active under, or 0 when inactive. */
    public long activeGeneration() {
        return activeGeneration;
    }

    public boolean isActive() {
        return activeGeneration != 0;
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

    /**
     * The guest's write: exactly {@link #BLOCK_SIZE} remaining bytes of {@code data} to
     * {@code block}, then the block is marked dirty.
     *
     * @throws InactiveImageException if this host does not hold the image active; nothing is written
     */
    public void write(long block, ByteBuffer data) throws IOException {
        long position = position(block);
        if (data.remaining() != BLOCK_SIZE) {
            throw new IllegalArgumentException("data must have exactly " + BLOCK_SIZE
                    + " bytes remaining, has " + data.remaining());
        }
        fence.readLock().lock();
        try {
            if (activeGeneration == 0) {
                throw new InactiveImageException(path);
            }
            while (data.hasRemaining()) {
                position += channel.write(data, position);
            }
            dirtyLog.mark(block);
        } finally {
            fence.readLock().unlock();
        }
    }

    /**
     * A migration's write into the image it copies in: {@code data}'s remaining bytes at
     * {@code offset}, cut at the end of the image (QEMU's last chunk is always sent whole).
     *
     * @throws InactiveImageException unless this image was {@link #createForCopy created for a copy}
     *     and is still inactive
     */
    public void writeIncoming(long offset, ByteBuffer data) throws IOException {
        if (offset < 0 || offset > sizeBytes) {
            throw new IllegalArgumentException("offset " + offset + " outside image of " + sizeBytes + " bytes");
        }
        fence.readLock().lock();
        try {
            if (!copyTarget || activeGeneration != 0) {
                throw new InactiveImageException(path, "only an inactive image created for a copy takes a "
                        + "migration's writes");
            }
            ByteBuffer window = data.duplicate();
            window.limit(window.position() + (int) Math.min(window.remaining(), sizeBytes - offset));
            long position = offset;
            while (window.hasRemaining()) {
                position += channel.write(window, position);
            }
            data.position(data.limit());
        } finally {
            fence.readLock().unlock();
        }
    }

    /** The file, for a migration's bulk reads of the whole image (positional, never writes). */
    public FileChannel readChannel() {
        return channel;
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

    /**
     * Closes the file, leaving it in place. Idempotent. Only an active image is flushed on the
     * way out: closing is a write path too, and an inactive host must not touch the image.
     */
    @Override
    public void close() {
        fence.writeLock().lock();
        try {
            if (activeGeneration != 0 && channel.isOpen()) {
                channel.force(false);
            }
            activeGeneration = 0;
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            fence.writeLock().unlock();
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
