package io.ferry.migration.outgoing;

import io.ferry.guest.DirtyBitmap;
import io.ferry.guest.DiskImage;
import io.ferry.wire.StreamFormat;

/**
 * Which 1 MiB chunks of one disk image still have to be sent (QEMU's block-migration dirty
 * bitmap has the same 1 MiB granularity). The image's own dirty log is kept per 4 KiB block;
 * a chunk is due when any of its blocks was written since it was last sent.
 */
final class DiskChunks {

    private static final int BLOCKS_PER_CHUNK = StreamFormat.BLOCK_CHUNK_BYTES / DiskImage.BLOCK_SIZE;
    private static final int WORDS_PER_CHUNK = BLOCKS_PER_CHUNK / Long.SIZE;

    private final DiskImage image;
    private final String device;
    private final long chunkCount;
    private final long[] due;
    private final long[] taken;

    DiskChunks(DiskImage image, String device) {
        this.image = image;
        this.device = device;
        this.chunkCount = (image.sizeBytes() + StreamFormat.BLOCK_CHUNK_BYTES - 1) / StreamFormat.BLOCK_CHUNK_BYTES;
        this.due = new long[(int) ((chunkCount + 63) / 64)];
        this.taken = new long[image.dirtyLog().wordCount()];
    }

    DiskImage image() {
        return image;
    }

    /** The name the stream knows the image by. */
    String device() {
        return device;
    }

    /** Bulk pass: every chunk is due; writes from here on show up in the next {@link #sync()}. */
    void markAll() {
        image.dirtyLog().syncAndClear(taken);
        for (long c = 0; c < chunkCount; c++) {
            mark(c);
        }
    }

    /** Moves the image's dirty log into the due chunks; returns how many chunks are due now. */
    long sync() {
        image.dirtyLog().syncAndClear(taken);
        for (int w = 0; w < taken.length; w++) {
            if (taken[w] != 0) {
                mark((long) w / WORDS_PER_CHUNK);
            }
        }
        return pending();
    }

    long pending() {
        long count = 0;
        for (long word : due) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** The next due chunk at or after {@code from}, or -1. */
    long next(long from) {
        return DirtyBitmap.nextSetBit(due, from);
    }

    void clear(long chunk) {
        due[(int) (chunk >>> 6)] &= ~(1L << chunk);
    }

    private void mark(long chunk) {
        due[(int) (chunk >>> 6)] |= 1L << chunk;
    }
}
