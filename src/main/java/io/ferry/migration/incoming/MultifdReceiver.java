package io.ferry.migration.incoming;

import io.ferry.channel.CompressionMethod;
import io.ferry.guest.RamBlock;
import io.ferry.migration.PageChannels;
import io.ferry.migration.compression.PageCompression;
import io.ferry.migration.transport.IncomingRegistry;
import io.ferry.wire.MultifdDecoder;
import io.ferry.wire.MultifdInit;
import io.ferry.wire.MultifdLimits;
import io.ferry.wire.MultifdListener;
import io.ferry.wire.MultifdPacket;
import io.ferry.wire.PageDecompressor;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The destination's multifd channels: each places its packets' pages into guest memory on its own
 * connection's thread, in parallel with the others and with the main stream. Order is restored
 * at sync points, as QEMU's {@code multifd_recv_sync_main}: a channel that read its k-th SYNC
 * packet stops reading, the main stream stops at its k-th MULTIFD_FLUSH word, and both go on only
 * once every channel has reached its k-th SYNC and the main stream its k-th flush. So a page of
 * round k+1 on one channel never lands before the same page of round k on another, and nothing
 * after a flush (the next round, device state, EOF) is read before the pages before it are in.
 *
 * <p>With compression each channel has its own decompressor (a zstd context is not thread-safe),
 * and its pages reach guest memory only once their packet's whole payload decompressed to the
 * right size ({@link MultifdDecoder#compressed}): malformed data fails the job, its pages unplaced.
 *
 * <p>Guest memory is written only while {@link #placing} is read-held and the receiver is not
 * {@linkplain #stop stopped}; stopping takes it for writing, so once {@link #stop} returns no
 * channel touches the guest again (it may be freed).
 */
final class MultifdReceiver {

    private final UUID jobId;
    private final int count;
    private final CompressionMethod compression;
    private final List<RamBlock> blocks;
    private final List<RamBlockInfo> blockInfos;
    private final ReceivedPages received;
    /** Fails the whole migration, with the reason, when a channel breaks or misbehaves before the end. */
    private final Consumer<String> lost;
    private final ReentrantReadWriteLock placing = new ReentrantReadWriteLock();

    // Guarded by this.
    private final Channel[] channels;
    private long flushes;
    private IncomingRegistry.ConnectionControl main;
    private boolean mainHeld;
    private volatile boolean stopped;

    MultifdReceiver(UUID jobId, PageChannels pages, List<RamBlock> blocks, ReceivedPages received,
                    Consumer<String> lost) {
        this.jobId = jobId;
        this.received = received;
        this.count = pages.count();
        this.compression = pages.compression();
        this.blocks = blocks;
        this.blockInfos = blocks.stream().map(b -> new RamBlockInfo(b.name(), b.sizeBytes())).toList();
        this.lost = lost;
        this.channels = new Channel[count];
    }

    int count() {
        return count;
    }

    /** A new multifd connection; which channel it is, its MultifdInit says. */
    IncomingRegistry.StreamSink attach(String remote, IncomingRegistry.ConnectionControl control) {
        if (stopped) {
            throw new IllegalStateException("job " + jobId + " has ended");
        }
        return new Channel(remote, control);
    }

    /**
     * The main stream read a MULTIFD_FLUSH: true when every channel already reached the matching
     * SYNC (the main stream reads on), false when it must wait; {@code control} is resumed then.
     */
    synchronized boolean flush(IncomingRegistry.ConnectionControl control) {
        flushes++;
        main = control;
        if (reached(flushes)) {
            resumeChannels();
            return true;
        }
        mainHeld = true;
        control.pauseReading();
        return false;
    }

    /** Whether a main stream held at its last flush may read on now. */
    synchronized boolean flushReached() {
        return reached(flushes);
    }

    /** Every channel has attached and read at least {@code syncs} SYNC packets, and the main stream as many flushes. */
    private boolean reached(long syncs) {
        if (flushes < syncs) {
            return false;
        }
        for (Channel channel : channels) {
            if (channel == null || channel.syncs < syncs) {
                return false;
            }
        }
        return true;
    }

    private void resumeChannels() {
        for (Channel channel : channels) {
            if (channel != null && channel.waiting) {
                channel.control.resumeReading();
            }
        }
    }

    /**
     * {@code done} for a migration with these channels: a guest about to be dropped must first be
     * out of every channel's reach ({@link #stop}).
     */
    BiConsumer<UUID, Boolean> stoppedBeforeDrop(BiConsumer<UUID, Boolean> done) {
        return (id, resumed) -> {
            if (resumed) {
                done.accept(id, true);
                return;
            }
            // Waiting for the channels to close must not happen here: this runs on an event loop, often
            // holding the migration's lock, which a closing channel's thread may need before it can close.
            Thread dropping = new Thread(() -> {
                stop();
                done.accept(id, false);
            }, "multifd-stop-" + id);
            dropping.setDaemon(true);
            dropping.start();
        };
    }

    /**
     * Closes every channel and waits until none is placing a page; afterwards none ever will.
     * Never call it from a channel's feed.
     */
    void stop() {
        stopped = true;
        Channel[] all;
        synchronized (this) {
            all = channels.clone();
        }
        for (Channel channel : all) {
            if (channel != null) {
                channel.control.closeAndWait();   // no read lands in guest memory after this
            }
        }
        placing.writeLock().lock();
        placing.writeLock().unlock();
    }

    /**
     * One multifd connection: its init packet, then packets until the source closes it. On plain
     * TCP its page data is read straight into guest memory ({@link IncomingRegistry.DirectPlacement}):
     * the transport reads up to where page data starts into its own buffer (fed here), then each run
     * of consecutive pages into the guest.
     */
    private final class Channel implements IncomingRegistry.StreamSink, MultifdListener,
            IncomingRegistry.DirectPlacement {

        private final String remote;
        private final IncomingRegistry.ConnectionControl control;
        private final MultifdDecoder decoder;
        /** Null without compression; freed when the connection closes. */
        private final PageDecompressor decompressor;
        /** Set once the init packet was read. */
        private int id = -1;
        /** SYNC packets read (guarded by the receiver). */
        private long syncs;
        /** Stopped at its last SYNC until the others and the main stream catch up (guarded by the receiver). */
        private boolean waiting;

        Channel(String remote, IncomingRegistry.ConnectionControl control) {
            this.remote = remote;
            this.control = control;
            this.decompressor = compression == CompressionMethod.NONE ? null
                    : PageCompression.decompressor(compression);
            this.decoder = decompressor == null ? new MultifdDecoder(this, MultifdLimits.defaults(), blockInfos)
                    : MultifdDecoder.compressed(this, MultifdLimits.defaults(), blockInfos, decompressor);
        }

        @Override
        public boolean feed(ByteBuf in) {
            if (id < 0 && !init(in)) {
                return false;
            }
            synchronized (MultifdReceiver.this) {
                if (waiting) {
                    if (!reached(syncs)) {
                        return false;   // a resume came early (for another channel's sync): keep waiting
                    }
                    waiting = false;
                }
            }
            placing.readLock().lock();
            try {
                while (!stopped && in.isReadable()) {
                    if (decoder.feed(in) != MultifdDecoder.Result.SYNC || !synced()) {
                        break;
                    }
                }
                if (stopped) {
                    in.skipBytes(in.readableBytes());
                }
            } finally {
                placing.readLock().unlock();
            }
            return false;
        }

        private boolean init(ByteBuf in) {
            MultifdInit init = MultifdInit.decode(in, jobId, count);
            if (init == null) {
                return false;
            }
            synchronized (MultifdReceiver.this) {
                if (channels[init.channelId()] != null) {
                    throw new io.ferry.wire.StreamFormatException("multifd channel " + init.channelId()
                            + " connected twice (" + remote + ")");
                }
                id = init.channelId();
                channels[id] = this;
                if (mainHeld && reached(flushes)) {
                    mainHeld = false;
                    main.resumeReading();
                }
            }
            return true;
        }

        /** Counts a SYNC; true when this channel may read on at once, false when it waits (reading paused). */
        private boolean synced() {
            synchronized (MultifdReceiver.this) {
                syncs++;
                if (!reached(syncs)) {
                    waiting = true;
                    control.pauseReading();
                    return false;
                }
                // this was the last one the others and the main stream waited for
                resumeChannels();
                if (mainHeld) {
                    mainHeld = false;
                    main.resumeReading();
                }
                return true;
            }
        }

        @Override
        public void closed(Throwable cause) {
            if (decompressor != null) {
                decompressor.close();   // on the connection's thread, after its last feed
            }
            if (!stopped) {
                lost.accept("multifd channel " + (id < 0 ? "(before its init packet)" : String.valueOf(id + 1))
                        + " from " + remote + (cause == null ? " closed before the end of the stream"
                        : " failed: " + cause.getMessage()));
            }
        }

        @Override
        public IncomingRegistry.DirectPlacement directPlacement() {
            return this;
        }

        @Override
        public ByteBuf target() {
            if (stopped || id < 0 || waiting || !decoder.expectsPageData()) {
                return null;
            }
            return blocks.get(decoder.blockIndex()).placementView(decoder.pageIndex(), decoder.offsetInPage(),
                    decoder.contiguousPageBytes());
        }

        @Override
        public int ordinaryBytes() {
            return id < 0 ? io.ferry.wire.MultifdFormat.INIT_LENGTH : decoder.headerBytesWanted();
        }

        @Override
        public void placed(int bytes) {
            for (int left = bytes; left > 0; ) {
                int n = Math.min(left, decoder.bytesLeftInPage());
                decoder.placed(n);
                left -= n;
            }
        }

        @Override
        public CompletionStage<IncomingRegistry.Verdict> verdict() {
            return new java.util.concurrent.CompletableFuture<>();   // the main stream answers for the job
        }

        @Override
        public String failureReason() {
            return null;
        }

        // ---- decoded packets, on this connection's thread, with placing read-held ----

        @Override
        public void packet(int blockIndex, MultifdPacket header) {
            for (long offset : header.zeroOffsets()) {
                long page = offset / StreamFormat.PAGE_SIZE;
                if (received.mark(blockIndex, page)) {
                    blocks.get(blockIndex).zeroPage(page);   // an older copy arrived; a page never sent is zero already
                }
            }
        }

        @Override
        public void pageData(int blockIndex, long pageIndex, int offsetInPage, ByteBuf data) {
            blocks.get(blockIndex).writeInPage(pageIndex, offsetInPage, data);
        }

        @Override
        public void pageComplete(int blockIndex, long pageIndex) {
            received.mark(blockIndex, pageIndex);
        }

        @Override
        public void sync(long packetNum) {
            // counted by feed, which sees the decoder stop after it
        }
    }
}
