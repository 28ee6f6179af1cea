package io.ferry.migration.qemu;

import io.ferry.migration.transport.IncomingRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination side of a relayed QEMU migration: the job's expected incoming endpoint on the
 * worker's data plane (register it with the worker's {@link IncomingRegistry} under the job id),
 * which accepts one {@link io.ferry.wire.Handshake.Channel#QEMU_STREAM} connection proved with the
 * job's secret and writes its bytes, as they come, into the unix socket of the destination QEMU
 * (started with {@code -incoming defer}, then QMP {@code migrate-incoming uri=unix:PATH}, which
 * must have run before the source connects). QEMU's return path goes back the same way.
 *
 * <pre>
 *   data plane ──► sink.feed ──► destination QEMU's socket      (data plane paused while that socket is full)
 *   data plane ◄── raw write ◄── destination QEMU's return path
 * </pre>
 *
 * <p>It checks nothing itself: the source relay forwards only what its decoder accepted. Either
 * end closing closes the other once what was written to it has gone out; the destination QEMU
 * itself tells (QMP) whether it loaded the guest.
 */
public final class DestinationRelay implements IncomingRegistry.IncomingEndpoint, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DestinationRelay.class);

    private final EventLoopGroup group;
    private final byte[] secret;
    private final Path qemuSocket;
    private final AtomicBoolean attached = new AtomicBoolean();
    private final AtomicLong carried = new AtomicLong();
    private final CompletableFuture<Long> done = new CompletableFuture<>();
    private volatile Sink sink;

    public DestinationRelay(EventLoopGroup group, byte[] secret, Path qemuSocket) {
        this.group = group;
        this.secret = secret.clone();
        this.qemuSocket = qemuSocket;
    }

    @Override
    public byte[] secret() {
        return secret.clone();
    }

    @Override
    public IncomingRegistry.StreamSink attach(String remoteAddress, IncomingRegistry.ConnectionControl connection) {
        throw new IllegalStateException("this job expects a relayed QEMU stream, not Ferry's own");
    }

    @Override
    public IncomingRegistry.StreamSink attachQemuStream(String remoteAddress,
                                                        IncomingRegistry.ConnectionControl connection) {
        if (!attached.compareAndSet(false, true)) {
            throw new IllegalStateException("a QEMU stream is already relayed for this job");
        }
        log.info("QEMU relay: stream from {} into {}", remoteAddress, qemuSocket);
        Sink s = new Sink(connection);
        sink = s;
        return s;
    }

    /** Bytes written towards the destination QEMU so far. */
    public long carriedBytes() {
        return carried.get();
    }

    /** Completes with the bytes carried once both ends closed; fails when a connection failed. */
    public CompletionStage<Long> done() {
        return done;
    }

    /** Cancel: closes both ends. */
    @Override
    public void close() {
        Sink s = sink;
        if (s != null) {
            s.connection.close();
            s.closeQemu();
        }
        done.completeExceptionally(new RelayFailure("the relay was closed (cancelled)", -1, null));
    }

    /** One relayed stream. Data-plane callbacks run on the connection's thread, QEMU's on its socket's. */
    private final class Sink implements IncomingRegistry.StreamSink {

        private final IncomingRegistry.ConnectionControl connection;
        private final ChannelFuture connecting;
        /** Bytes that came before QEMU's socket connected; the data plane's thread only. */
        private final ArrayDeque<ByteBuf> early = new ArrayDeque<>();
        private Channel qemu;   // set on the data plane's thread once connected
        private volatile String failure;

        Sink(IncomingRegistry.ConnectionControl connection) {
            this.connection = connection;
            this.connecting = new Bootstrap().group(sameThread()).channel(NioDomainSocketChannel.class)
                    .handler(new QemuSide()).connect(UnixDomainSocketAddress.of(qemuSocket));
            connecting.addListener(f -> connection.runOnConnectionThread(() -> connected(f.isSuccess(), f.cause())));
        }

        /**
         * The data-plane connection's own event loop when it is one of {@code group}'s (attach runs on
         * it): both sockets of the stream on one thread, no hand-over per write. Any of the group's else.
         */
        private io.netty.channel.EventLoopGroup sameThread() {
            for (io.netty.util.concurrent.EventExecutor executor : group) {
                if (executor.inEventLoop() && executor instanceof io.netty.channel.EventLoop loop) {
                    return loop;
                }
            }
            return group;
        }

        private void connected(boolean ok, Throwable cause) {
            if (!ok) {
                failure = "cannot connect to the destination QEMU's socket " + qemuSocket + ": " + cause;
                log.warn("QEMU relay: {}", failure);
                release();
                connection.close();
                done.completeExceptionally(new RelayFailure(failure, -1, cause));
                return;
            }
            qemu = connecting.channel();
            while (!early.isEmpty()) {
                qemu.write(early.poll(), qemu.voidPromise());
            }
            qemu.flush();
            connection.resumeReading();
        }

        @Override
        public boolean feed(ByteBuf in) {
            int n = in.readableBytes();
            ByteBuf bytes = in.readRetainedSlice(n);
            if (failure != null) {
                bytes.release();
                return false;
            }
            carried.addAndGet(n);
            if (qemu == null) {
                early.add(bytes);
                connection.pauseReading();
                return false;
            }
            qemu.writeAndFlush(bytes, qemu.voidPromise());
            if (!qemu.isWritable()) {
                connection.pauseReading();   // QEMUSide resumes it once QEMU has read
            }
            return false;   // the stream's end is QEMU's to judge
        }

        @Override
        public void closed(Throwable cause) {
            if (cause != null) {
                failure = "the data-plane connection failed: " + cause;
                log.warn("QEMU relay: {}", failure);
            }
            release();
            // what was carried goes out first, then QEMU sees the end
            Channel q = connecting.channel();
            if (q.isActive()) {
                q.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            } else {
                q.close();
            }
            q.closeFuture().addListener(f -> {
                if (failure == null) {
                    done.complete(carried.get());
                } else {
                    done.completeExceptionally(new RelayFailure(failure, -1, cause));
                }
            });
        }

        private void release() {
            while (!early.isEmpty()) {
                early.poll().release();
            }
        }

        void closeQemu() {
            connecting.channel().close();
        }

        @Override
        public CompletionStage<IncomingRegistry.Verdict> verdict() {
            return new CompletableFuture<>();   // QEMU answers on its own return path, not Ferry
        }

        @Override
        public String failureReason() {
            return failure;
        }

        /** The destination QEMU's connection: its return path, its pace, its end. */
        private final class QemuSide extends ChannelInboundHandlerAdapter {

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                connection.write((ByteBuf) msg);
            }

            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
                if (ctx.channel().isWritable()) {
                    connection.resumeReading();
                }
                super.channelWritabilityChanged(ctx);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) throws Exception {
                connection.flushAndClose();   // QEMU's last return-path words (SHUT) go out first
                super.channelInactive(ctx);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                failure = "the destination QEMU's socket failed: " + cause;
                log.warn("QEMU relay: {}", failure);
                ctx.close();
            }
        }
    }
}
