package io.ferry.migration.transport;

import java.util.UUID;

/** What the data-plane server asks about a connecting source: which migration may it feed? */
public interface IncomingRegistry {

    /** The expected incoming migration for this job, or null if none is expected. */
    IncomingEndpoint expected(UUID jobId);

    /** One side of an incoming migration as the transport sees it. */
    interface IncomingEndpoint {

        byte[] secret();

        /**
         * Called once the source proved the secret; returns the stream consumer for this
         * connection. {@code onConnection} runs a task on the connection's I/O thread, where the
         * stream is consumed, so other threads never write guest memory concurrently with it.
         */
        StreamSink attach(String remoteAddress, ConnectionControl connection);

        /**
         * Called once the source proved the secret for the post-copy preempt channel: a second
         * connection of an attached stream that carries requested pages only. Throws
         * {@link IllegalStateException} to refuse it (the source then goes on without one).
         */
        default StreamSink attachPreempt(String remoteAddress, ConnectionControl connection) {
            throw new IllegalStateException("no stream to add a post-copy preempt channel to");
        }

        /**
         * Called once the source proved the secret for one of QEMU's multifd channels: packets of
         * pages beside the main stream. Throws {@link IllegalStateException} to refuse it.
         */
        default StreamSink attachMultifd(String remoteAddress, ConnectionControl connection) {
            throw new IllegalStateException("this migration expects no multifd channels");
        }

        /**
         * Called once the source proved the secret for a relayed QEMU stream
         * ({@link io.ferry.wire.Handshake.Channel#QEMU_STREAM}): QEMU's bytes, which the sink hands
         * to the destination QEMU as they are, and QEMU's return path back through
         * {@link ConnectionControl#write}. Throws {@link IllegalStateException} to refuse it.
         */
        default StreamSink attachQemuStream(String remoteAddress, ConnectionControl connection) {
            throw new IllegalStateException("this migration expects no relayed QEMU stream");
        }
    }

    /** The transport's handle for the sink: run on the connection's thread, close the connection. */
    interface ConnectionControl {

        void runOnConnectionThread(Runnable task);

        /** Post-copy: a small receive buffer, so a requested page does not queue behind megabytes. */
        void shallowBuffers();

        /**
         * Stops reading from the socket after the current read: what the sink left unread stays
         * buffered. Call from the connection's thread (inside {@link StreamSink#feed}).
         */
        void pauseReading();

        /**
         * From any thread: feeds the sink what it left unread, then reads from the socket again;
         * the sink may hold still again (it decides in {@link StreamSink#feed}).
         */
        void resumeReading();

        /** Sends a return-path message (post-copy page requests) from any thread. */
        void send(io.ferry.wire.ReturnPathMessage message);

        /**
         * A relayed QEMU stream: writes {@code bytes} (ownership passes) to the source as they are,
         * in order, from any thread. QEMU's own return path, which Ferry does not re-encode.
         */
        default void write(io.netty.buffer.ByteBuf bytes) {
            bytes.release();
            throw new UnsupportedOperationException("raw writes are for relayed QEMU streams");
        }

        /** Closes the connection once everything written before it has gone out; from any thread. */
        default void flushAndClose() {
            close();
        }

        void close();

        /**
         * Closes the connection and returns once it is closed (at once on its own thread, where
         * closing is immediate): after it, no read of it lands anywhere.
         */
        void closeAndWait();
    }

    /** Consumes the migration stream of one authenticated connection. */
    interface StreamSink {

        /** Feeds newly arrived bytes; returns true once the stream ended (EOF seen and handled). */
        boolean feed(io.netty.buffer.ByteBuf in) throws Exception;

        /** The connection is gone; {@code cause} is null for a plain close. */
        void closed(Throwable cause);

        /**
         * The return-path answer once the stream ended: QEMU's SHUT status and, for a refusal, why.
         * It may come later than the end of the stream (the destination may first need the
         * control plane to activate its disks).
         */
        java.util.concurrent.CompletionStage<Verdict> verdict();

        /** Why the stream was refused, for the source (null when it was not). */
        String failureReason();

        /**
         * Where this connection's bytes may be read straight into guest memory, or null when the
         * sink copies everything it is fed (see {@link DirectPlacement}). Asked once, after attach.
         */
        default DirectPlacement directPlacement() {
            return null;
        }
    }

    /**
     * A sink that takes some of its bytes by scattering reads straight into guest memory (a
     * multifd channel's page data on plain TCP). The transport asks before every read, on the
     * connection's thread, and only when the sink has no unread bytes left from earlier reads.
     */
    interface DirectPlacement {

        /**
         * An empty buffer over the guest memory where the connection's next bytes belong, or null
         * when they are not page data now: then read at most {@link #ordinaryBytes()} into an
         * ordinary buffer and feed them.
         */
        io.netty.buffer.ByteBuf target();

        /** The most an ordinary read may take now without reading into page data (a read is never smaller than 1). */
        int ordinaryBytes();

        /** {@code bytes} were read into the buffer {@link #target()} returned last. */
        void placed(int bytes);
    }

    /** {@code shutStatus} 0: the destination runs the guest; otherwise {@code reason} says why not. */
    record Verdict(int shutStatus, String reason) {
    }
}
