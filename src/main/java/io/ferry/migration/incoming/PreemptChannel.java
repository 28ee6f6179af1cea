package io.ferry.migration.incoming;

import io.ferry.migration.transport.IncomingRegistry;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Post-copy's preempt channel (QEMU's postcopy-preempt), while there is one: requested pages
 * arrive on it and page requests leave on its return path, so neither waits behind the background
 * push. The source re-opens it after a recovery; a newer connection replaces an older one, whose
 * bytes are ignored. Its connection and leg are written under the job's lock.
 */
final class PreemptChannel {

    // the destination's lines stay under one logger, where operators (and tests) look for them
    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);

    private final IncomingJob job;
    /** Where its pages go: the main stream's placement, so both pass the same "never overwrite" rule. */
    private final StreamListener pages;
    /** Post-copy's end, once EOF was read: decided again as this channel's pages arrive, and when it closes. */
    private final Runnable drained;
    /** Null without one. */
    private volatile IncomingRegistry.ConnectionControl connection;
    /** Which connection is current; bytes of an older one are ignored. */
    private volatile int leg;

    PreemptChannel(IncomingJob job, StreamListener pages, Runnable drained) {
        this.job = job;
        this.pages = pages;
        this.drained = drained;
    }

    /** The open connection, null without one. */
    IncomingRegistry.ConnectionControl connection() {
        return connection;
    }

    /** A newer connection replaces an older one. Caller holds the job's lock. */
    IncomingRegistry.StreamSink attach(String remoteAddress, IncomingRegistry.ConnectionControl connection) {
        if (this.connection != null) {
            this.connection.close();
        }
        this.connection = connection;
        log.info("incoming migration {}: post-copy preempt channel from {}", job.jobId(), remoteAddress);
        return new Leg(++leg);
    }

    /** Closes it, if open: a broken link closes every channel of the job. Caller holds the job's lock. */
    void close() {
        if (connection != null) {
            connection.close();
            connection = null;
            leg++;
        }
    }

    /** One preempt connection: its own decoder (its own CONTINUE block), pages only once post-copy runs. */
    private final class Leg extends Outcome.Sink implements StreamListener {

        private final int number;
        private final StreamDecoder decoder = StreamDecoder.forPreemptChannel(this, DecoderLimits.defaults(),
                job.blocks().stream().map(b -> new RamBlockInfo(b.name(), b.sizeBytes())).toList());

        Leg(int number) {
            super(job.outcome());
            this.number = number;
        }

        @Override
        public boolean feed(ByteBuf in) {
            // Not under the migration's lock: a requested page must not wait for a whole read of the main
            // channel (pages are claimed one by one instead, DemandPaging.claim). After EOF its pages are still
            // placed (and may end post-copy): they were sent before it.
            if (number != leg || !job.phases().current().readsPreemptPages()) {
                in.skipBytes(in.readableBytes());
                return false;
            }
            decoder.feed(in);
            if (job.phases().is(IncomingPhase.DRAINING)) {
                drained.run();
            }
            return false;   // the main channel ends the stream
        }

        @Override
        public void closed(Throwable cause) {
            synchronized (job.lock()) {
                if (number != leg) {
                    return;
                }
                connection = null;
                leg++;
                if (!job.phases().current().ended()) {
                    // requests go on the main channel's return path now; the source pauses and recovers if it lost it
                    log.warn("incoming migration {}: post-copy preempt channel closed{}", job.jobId(),
                            cause == null ? "" : ": " + cause.getMessage());
                }
            }
            if (job.phases().is(IncomingPhase.DRAINING)) {
                drained.run();   // what it still carried is lost: the end reports the gap
            }
        }

        @Override
        public void ramBlocks(List<RamBlockInfo> announced) {
            throw new StreamFormatException("RAM block list on the post-copy preempt channel");
        }

        @Override
        public void page(int blockIndex, long pageIndex, ByteBuf data) {
            requireRunning();
            pages.page(blockIndex, pageIndex, data);
        }

        @Override
        public void zeroPage(int blockIndex, long pageIndex, int fill) {
            requireRunning();
            pages.zeroPage(blockIndex, pageIndex, fill);
        }

        @Override
        public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
            throw new StreamFormatException("device state on the post-copy preempt channel");
        }

        @Override
        public void endOfStream() {
            throw new StreamFormatException("EOF on the post-copy preempt channel");
        }

        private void requireRunning() {
            if (!job.phases().current().demandPaging()) {
                throw new StreamFormatException("page on the post-copy preempt channel before POSTCOPY_RUN: only pages"
                        + " the destination asked for go there");
            }
        }
    }
}
