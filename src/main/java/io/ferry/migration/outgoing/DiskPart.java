package io.ferry.migration.outgoing;

import io.ferry.channel.MigrationProgress;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.TransferMeter;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * QEMU's {@code block} section on the source (block migration, {@code storage: copy}): every
 * 1 MiB chunk of every image in the bulk round, then the chunks written since, each round; an
 * all-zero chunk as a header only. Without copy (shared storage) it sends nothing, but still
 * flushes the images between rounds: the flush before the hand-off, inside the pause, then has
 * little left to do, and the time it took counts in the switchover rule ({@link PauseBudget}).
 *
 * <p>Written by the migration thread only; the counters are read by progress snapshots.
 */
final class DiskPart implements StreamPart {

    static final int SECTION_ID = 5;

    private final List<DiskChunks> disks;
    /** The images travel in the stream (copy mode, and the guest has disks). */
    private final boolean copy;
    private final PauseBudget pause;
    /** A chunk's first 4 KiB, to tell whether it goes by sendfile. */
    private final ByteBuffer probe = ByteBuffer.allocateDirect(4096);

    // QEMU's query-migrate counters (the "disk" figures).
    private long transferred;
    private long remainingChunks;

    DiskPart(SyntheticGuest guest, boolean copyImages, PauseBudget pause) {
        this.disks = guest.spec().disks().stream()
                .map(d -> new DiskChunks(guest.disk(d.diskId()), d.diskId())).toList();
        this.copy = copyImages && !disks.isEmpty();
        this.pause = pause;
    }

    /** The guest's images, with the names the stream and the control plane know them by. */
    List<DiskChunks> disks() {
        return disks;
    }

    boolean any() {
        return !disks.isEmpty();
    }

    long imageBytes() {
        return disks.stream().mapToLong(d -> d.image().sizeBytes()).sum();
    }

    @Override
    public void setup(StreamWriter out) {
        if (!copy) {
            return;
        }
        ByteBuf batch = out.batch();
        StreamEncoder.sectionStart(batch, StreamFormat.SECTION_START, SECTION_ID, StreamFormat.BLOCK_SECTION, 0,
                StreamFormat.BLOCK_SECTION_VERSION);
        StreamEncoder.blockEos(batch);
        StreamEncoder.footer(batch, SECTION_ID);
        disks.forEach(DiskChunks::markAll);
        remainingChunks = disks.stream().mapToLong(DiskChunks::pending).sum();
    }

    @Override
    public void iterate(StreamWriter out, Round round) throws InterruptedException {
        sendRound(out, StreamFormat.SECTION_PART, true, round);
    }

    /** Also flushes the images (see the class comment). */
    @Override
    public long sync() {
        remainingChunks = takeDirtyLogs();
        flushImages();
        return remainingChunks * StreamFormat.BLOCK_CHUNK_BYTES;
    }

    @Override
    public void completePrecopy(StreamWriter out) throws InterruptedException {
        remainingChunks = takeDirtyLogs();
        sendRound(out, StreamFormat.SECTION_END, false, null);
    }

    /** QEMU's disk figures; null when the images do not travel. */
    MigrationProgress.Disk progress() {
        return copy ? new MigrationProgress.Disk(imageBytes(), transferred,
                remainingChunks * StreamFormat.BLOCK_CHUNK_BYTES) : null;
    }

    /** Moves the images' dirty logs into their due chunks (copy mode); returns how many are due. */
    private long takeDirtyLogs() {
        if (!copy) {
            return 0;
        }
        long due = 0;
        for (DiskChunks disk : disks) {
            due += disk.sync();
        }
        return due;
    }

    private void flushImages() {
        long start = System.nanoTime();
        for (DiskChunks disk : disks) {
            try {
                disk.image().flush();
            } catch (IOException e) {
                throw new MigrationFailure("flushing image of disk " + disk.device() + " failed: " + e.getMessage());
            }
        }
        pause.flushed(System.nanoTime() - start);
    }

    /**
     * Every due chunk of every image as one section. A chunk goes whole (QEMU's layout: the last
     * chunk is padded); an all-zero chunk becomes a header without data. A rate-limited round
     * looks at {@code round} after each chunk, for a cancel; it does not end early for post-copy
     * (disks do not post-copy).
     */
    private void sendRound(StreamWriter out, byte sectionType, boolean rateLimited, Round round)
            throws InterruptedException {
        if (!copy) {
            return;
        }
        out.ensureRoom(64);
        StreamEncoder.sectionPart(out.batch(), sectionType, SECTION_ID);
        for (DiskChunks disk : disks) {
            for (long chunk = disk.next(0); chunk >= 0; chunk = disk.next(chunk + 1)) {
                sendChunk(out, disk, chunk, rateLimited);
                disk.clear(chunk);
                remainingChunks = Math.max(0, remainingChunks - 1);
                if (rateLimited) {
                    round.stop();   // a cancel ends the round; a request for post-copy waits for its end
                }
            }
        }
        out.ensureRoom(64);
        if (sectionType == StreamFormat.SECTION_END) {
            StreamEncoder.blockProgress(out.batch(), 100);
        }
        StreamEncoder.blockEos(out.batch());
        StreamEncoder.footer(out.batch(), SECTION_ID);
        out.flush(rateLimited);
    }

    /**
     * A chunk whose first 4 KiB hold data goes out by sendfile, straight from the page cache (the
     * common case, and the fast one: no copy through this process); a chunk that starts with
     * zeros is read in and checked whole, and sent as a zero record if it is all zero.
     */
    private void sendChunk(StreamWriter out, DiskChunks disk, long chunk, boolean rateLimited)
            throws InterruptedException {
        long offset = chunk * StreamFormat.BLOCK_CHUNK_BYTES;
        int length = (int) Math.min(StreamFormat.BLOCK_CHUNK_BYTES, disk.image().sizeBytes() - offset);
        if (startsWithData(disk, offset, length)) {
            out.ensureRoom(512, rateLimited);
            StreamEncoder.blockChunkHeader(out.batch(), disk.device(), offset);
            out.sendFile(disk.image().readChannel(), offset, length, rateLimited);
            out.payload(TransferMeter.Kind.DISK, length);
            out.batch().writeZero(StreamFormat.BLOCK_CHUNK_BYTES - length);   // QEMU's chunks are whole; pad the last
            transferred += StreamFormat.BLOCK_CHUNK_BYTES;
            return;
        }
        out.ensureRoom(StreamFormat.BLOCK_CHUNK_BYTES + 512, rateLimited);
        ByteBuf batch = out.batch();
        int header = batch.writerIndex();
        StreamEncoder.blockChunkHeader(batch, disk.device(), offset);
        int data = batch.writerIndex();
        try {
            for (int read = 0; read < length; ) {
                int n = batch.writeBytes(disk.image().readChannel(), offset + read, length - read);
                if (n < 0) {
                    throw new MigrationFailure("image of disk " + disk.device() + " ended early at " + (offset + read));
                }
                read += n;
            }
        } catch (IOException e) {
            throw new MigrationFailure("cannot read image of disk " + disk.device() + ": " + e.getMessage());
        }
        batch.writeZero(StreamFormat.BLOCK_CHUNK_BYTES - length);
        if (isZero(batch, data, StreamFormat.BLOCK_CHUNK_BYTES)) {
            batch.writerIndex(header);
            StreamEncoder.blockZeroChunk(batch, disk.device(), offset);
        } else {
            out.payload(TransferMeter.Kind.DISK, length);
        }
        transferred += StreamFormat.BLOCK_CHUNK_BYTES;
    }

    private boolean startsWithData(DiskChunks disk, long offset, int length) {
        probe.clear().limit(Math.min(probe.capacity(), length));
        try {
            while (probe.hasRemaining()) {
                if (disk.image().readChannel().read(probe, offset + probe.position()) < 0) {
                    throw new MigrationFailure("image of disk " + disk.device() + " ended early at " + offset);
                }
            }
        } catch (IOException e) {
            throw new MigrationFailure("cannot read image of disk " + disk.device() + ": " + e.getMessage());
        }
        probe.flip();
        while (probe.remaining() >= Long.BYTES) {
            if (probe.getLong() != 0) {
                return true;
            }
        }
        return false;
    }

    private static boolean isZero(ByteBuf buffer, int from, int length) {
        int end = from + length;
        for (int i = from; i < end; i += Long.BYTES) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
