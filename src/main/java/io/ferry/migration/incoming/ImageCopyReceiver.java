package io.ferry.migration.incoming;

import io.ferry.guest.DiskImage;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * The destination's part for {@code storage: copy}: QEMU's block section written into the
 * incoming images (inactive until the hand-off), chunk by chunk, flushed in the background every
 * {@link #FLUSH_EVERY_BYTES} so the flush inside the downtime is short. With shared storage a
 * block section is a protocol error: those images belong to the source until the hand-off.
 */
final class ImageCopyReceiver {

    /** Copied bytes after which the images are flushed in the background. */
    private static final long FLUSH_EVERY_BYTES = 64L << 20;
    private static final ByteBuffer ZERO_CHUNK = ByteBuffer.allocateDirect(StreamFormat.BLOCK_CHUNK_BYTES);
    private static final Executor FLUSHER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "image-flush");
        t.setDaemon(true);
        return t;
    });

    private final Map<String, DiskImage> images;
    private final boolean copyImages;
    /** The chunk whose data is arriving: its image and byte offset. */
    private DiskImage chunkImage;
    private long chunkOffset;
    private long unflushedBytes;
    /** One background flush at a time; the last is awaited at the end. */
    private CompletableFuture<Void> backgroundFlush = CompletableFuture.completedFuture(null);
    private boolean sectionEnded;

    ImageCopyReceiver(Map<String, DiskImage> images, boolean copyImages) {
        this.images = images;
        this.copyImages = copyImages;
    }

    void sectionStart() {
        if (!copyImages) {
            throw new StreamFormatException("the stream carries disk images, but this job uses shared storage: "
                    + "the images here belong to the source until the hand-off");
        }
    }

    void chunk(String device, long byteOffset, boolean zero) {
        DiskImage image = images.get(device);
        if (image == null) {
            throw new StreamFormatException("block data for unknown device '" + device + "'");
        }
        if (byteOffset % StreamFormat.BLOCK_CHUNK_BYTES != 0 || byteOffset >= image.sizeBytes()) {
            throw new StreamFormatException("block chunk at byte " + byteOffset + " of device '" + device
                    + "' is not a chunk of its " + image.sizeBytes() + " bytes");
        }
        chunkImage = image;
        chunkOffset = byteOffset;
        if (zero) {
            write(byteOffset, ZERO_CHUNK.duplicate());
        }
    }

    void data(long offsetInChunk, ByteBuf data) {
        long at = chunkOffset + offsetInChunk;
        if (at < chunkImage.sizeBytes()) {   // the last chunk is sent whole: the rest is padding
            unflushedBytes += data.readableBytes();
            write(at, data.nioBuffer());
        }
        if (unflushedBytes >= FLUSH_EVERY_BYTES && backgroundFlush.isDone()) {
            unflushedBytes = 0;
            backgroundFlush = CompletableFuture.runAsync(this::flushOpenImages, FLUSHER);
        }
    }

    void sectionEnd(byte sectionType) {
        if (sectionType == StreamFormat.SECTION_END) {
            sectionEnded = true;
        }
    }

    /** Why the copied images are not complete at the end of the stream; null when they are (or none is copied). */
    String incomplete() {
        return copyImages && !images.isEmpty() && !sectionEnded
                ? "stream ended without the end of the disk images (block END section)" : null;
    }

    /** Waits for the background flush, then flushes what is left: the copy is durable before anyone relies on it. */
    void flush() {
        backgroundFlush.join();
        flushOpenImages();
    }

    private void flushOpenImages() {
        try {
            for (DiskImage image : images.values()) {
                if (image.isOpen()) {
                    image.flush();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void write(long offset, ByteBuffer data) {
        try {
            chunkImage.writeIncoming(offset, data);
        } catch (IOException e) {
            throw new StreamFormatException("cannot write image " + chunkImage.path().getFileName() + " at byte "
                    + offset + ": " + e.getMessage());
        }
    }
}
