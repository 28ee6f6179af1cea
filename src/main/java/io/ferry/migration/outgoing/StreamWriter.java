package io.ferry.migration.outgoing;

import io.ferry.guest.RamBlock;
import io.ferry.migration.RateLimiter;
import io.ferry.migration.TransferMeter;
import io.netty.buffer.ByteBuf;
import java.nio.channels.FileChannel;
import java.util.function.LongSupplier;

/**
 * The one way the source's parts write: records go into a batch buffer, which goes to the main
 * connection when full or flushed; raw bytes (an image chunk by sendfile, pages on multifd
 * channels) go straight out, in order with the batch. Requested pages on post-copy's preempt
 * channel are written by that channel's own thread and only counted here ({@link #preemptWritten}).
 * Every byte that leaves is accounted here once: the rate limit (when the caller is held to it),
 * the stream's total, the worker's meter, the bandwidth window, and the progress tick.
 *
 * <p>Used by the migration thread only, but for {@link #preemptWritten}. The batch changes on every flush: a part takes
 * {@link #batch()} afresh after {@link #ensureRoom} or a flush, never keeps it.
 */
final class StreamWriter {

    /**
     * 255 pages. No more than Netty's allocator pools (1 MiB): a larger batch was a fresh, zeroed
     * direct allocation every time. An image chunk read into the batch (one that starts with zeros;
     * the others go by sendfile) does not fit with its header: ensureRoom grows that batch.
     */
    static final int BATCH_BYTES = 1 << 20;

    private final Channels channels;
    private final RateLimiter limiter;
    private final BandwidthWindow bandwidth = new BandwidthWindow();
    /** The pages sent so far (RAM's count), for the bandwidth window's pages per second. */
    private final LongSupplier pagesSent;
    /** Runs after every accounted write: the migration's progress report, when one is due. */
    private final Runnable progressTick;
    /** The worker's byte counts, by kind; set before the migration runs (a start of its thread publishes it). */
    private TransferMeter meter = new TransferMeter();
    private ByteBuf batch;
    /** Every byte handed to the connections but the preempt thread's: QEMU's ram.transferred. Migration thread only. */
    private long transferred;
    /** What the preempt channel's thread wrote ({@link #preemptWritten}). */
    private final java.util.concurrent.atomic.LongAdder preemptBytes = new java.util.concurrent.atomic.LongAdder();

    StreamWriter(Channels channels, RateLimiter limiter, LongSupplier pagesSent, Runnable progressTick) {
        this.channels = channels;
        this.limiter = limiter;
        this.pagesSent = pagesSent;
        this.progressTick = progressTick;
    }

    void countInto(TransferMeter meter) {
        this.meter = meter;
    }

    /** The main connection is open: the first batch. */
    void start() {
        batch = channels.main().alloc().directBuffer(BATCH_BYTES);
    }

    /** A new main connection (a post-copy recovery): what was batched for the old one is dropped; the parts send it again. */
    void restart() {
        batch.clear();
    }

    /** The batch being filled; valid until the next flush. */
    ByteBuf batch() {
        return batch;
    }

    long transferred() {
        return transferred + preemptBytes.sum();
    }

    long pagesSent() {
        return pagesSent.getAsLong();
    }

    BandwidthWindow bandwidth() {
        return bandwidth;
    }

    /** Payload carried inside the stream, by kind, for the worker's metrics (the stream bytes are counted on write). */
    void payload(TransferMeter.Kind kind, long bytes) {
        meter.payload(kind, bytes);
    }

    void ensureRoom(int bytes) throws InterruptedException {
        ensureRoom(bytes, false);
    }

    /** Room for {@code bytes} more in the batch: flushes it when short, grows it when one record is larger. */
    void ensureRoom(int bytes, boolean rateLimited) throws InterruptedException {
        if (batch.writableBytes() < bytes) {
            flush(rateLimited);
        }
        if (batch.writableBytes() < bytes) {
            batch.ensureWritable(bytes);
        }
    }

    /** The batch goes out now, waiting while the socket is congested. */
    void flush(boolean rateLimited) throws InterruptedException {
        int bytes = batch.readableBytes();
        if (bytes == 0) {
            return;
        }
        ByteBuf full = batch;
        batch = channels.main().alloc().directBuffer(BATCH_BYTES);
        account(bytes, rateLimited);
        channels.main().write(full);
    }

    /**
     * Post-copy's main channel: the batch goes out without waiting for the socket to drain; the
     * push waits for that itself, so a page request never waits behind a full socket. Not held to
     * the pre-copy limit (the push has its own).
     */
    void flushWithoutWaiting() throws InterruptedException {
        int bytes = batch.readableBytes();
        if (bytes == 0) {
            return;
        }
        ByteBuf full = batch;
        batch = channels.main().alloc().directBuffer(BATCH_BYTES);
        account(bytes, false);
        channels.main().writeWithoutWaiting(full);
    }

    /** The batch, then {@code length} bytes of {@code file} from {@code offset} by sendfile, in that order. */
    void sendFile(FileChannel file, long offset, int length, boolean rateLimited) throws InterruptedException {
        flush(rateLimited);
        account(length, rateLimited);
        channels.main().write(file, offset, length);
    }

    /** Pages travel on multifd channels (else in the batch). */
    boolean multifd() {
        return channels.multifd() != null;
    }

    /**
     * One page for the multifd channels ({@code zero}: only its offset travels); a full packet goes
     * out, and its pages count as {@code kind} payload then.
     */
    void queuePage(RamBlock block, long page, boolean zero, TransferMeter.Kind kind, boolean rateLimited)
            throws InterruptedException {
        multifdWritten(channels.multifd().add(block, page, zero), kind, rateLimited);
    }

    /**
     * Sends the multifd packet being gathered and a SYNC on every channel; the caller then writes
     * the MULTIFD_FLUSH word, past which the destination reads only once those pages are placed.
     */
    void syncMultifd(boolean rateLimited) throws InterruptedException {
        multifdWritten(channels.multifd().sync(), TransferMeter.Kind.RAM, rateLimited);
    }

    /** Requested pages on post-copy's preempt channel (ownership of {@code pages} passes). */
    /**
     * Bytes the preempt channel's own thread wrote (post-copy's fault path, {@link RequestedPages}):
     * the one write not made by the migration thread, so it is counted apart, thread-safely, and
     * joins {@link #transferred()}; it takes no part in the rate limit or the bandwidth window.
     */
    void preemptWritten(long streamBytes, long payloadBytes) {
        preemptBytes.add(streamBytes);
        meter.stream(streamBytes);
        meter.payload(TransferMeter.Kind.POSTCOPY_REQUESTED, payloadBytes);
    }

    void release() {
        if (batch != null) {
            batch.release();
            batch = null;
        }
    }

    /** A multifd packet (or several) went out: its bytes count now, its pages as payload. */
    private void multifdWritten(long streamBytes, TransferMeter.Kind kind, boolean rateLimited)
            throws InterruptedException {
        if (streamBytes > 0) {
            meter.payload(kind, channels.multifd().takeWrittenPayload());
            account(streamBytes, rateLimited);
        }
    }

    /** Counts bytes about to be written: rate limit, totals, bandwidth window, progress. */
    private void account(long bytes, boolean rateLimited) throws InterruptedException {
        if (rateLimited) {
            limiter.account(bytes);
        }
        transferred += bytes;
        meter.stream(bytes);
        bandwidth.add(bytes, pagesSent.getAsLong());
        progressTick.run();
    }
}
