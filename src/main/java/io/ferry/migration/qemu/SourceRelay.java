package io.ferry.migration.qemu;

import io.ferry.migration.MigrationFailure;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.Handshake;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of a relayed QEMU migration: a unix socket the source QEMU migrates into
 * ({@code migrate uri=unix:PATH}), and one authenticated data-plane connection
 * ({@link Handshake.Channel#QEMU_STREAM}) to the destination worker, which hands the bytes to the
 * destination QEMU ({@link DestinationRelay}).
 *
 * <pre>
 *   source QEMU ──unix──► QemuSide ──► StreamTee (decoder; checked bytes only) ──► data plane ──► destination
 *   source QEMU ◄─unix── return path, as it comes ◄─────────────────────────────── data plane ◄── destination
 * </pre>
 *
 * <p>Both connections live on the data-plane connection's event loop, so the tee and the flags
 * below need no lock. Back-pressure: QEMU's socket is read only while the data plane is writable
 * (autoRead off above its high-water mark, on again when it drains), and the data plane is read
 * only while QEMU's socket takes the return path.
 *
 * <p>Ends: QEMU closing its socket after the whole stream (EOF and vmdesc) and the destination
 * hanging up after it is success; anything else fails the relay with a reason, first one wins,
 * and closes both connections, so the source QEMU's migration fails and its guest stays there.
 * {@link #close()} is cancel: the caller also runs QMP {@code migrate_cancel} on the source QEMU.
 * One QEMU connection per relay: a second one (multifd, a preempt channel) is refused.
 */
public final class SourceRelay implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SourceRelay.class);
    /** Device state held while its vmdesc is awaited: far above a pc machine's tens of KiB. */
    static final long MAX_HELD_TAIL_BYTES = 64L << 20;

    private final UUID jobId;
    private final Path socket;
    private final StreamTee tee;
    private final CompletableFuture<StreamProgress> done = new CompletableFuture<>();
    private Channel dataPlane;
    private Channel server;
    /** The source QEMU's connection, once it connected. */
    private volatile Channel qemu;
    // event-loop confined
    private boolean qemuClosed;
    private boolean dataPlaneClosed;

    private SourceRelay(UUID jobId, Path socket) {
        this.jobId = jobId;
        this.socket = socket;
        this.tee = new StreamTee(DecoderLimits.defaults(), MAX_HELD_TAIL_BYTES, this::forward);
    }

    /**
     * Proves the job to the destination worker's data plane, then listens on a new unix socket in
     * {@code socketDir} for the source QEMU.
     *
     * @throws MigrationFailure when the destination cannot be reached or refuses the job or secret
     */
    public static SourceRelay open(EventLoopGroup group, DataPlaneSecurity security, String destination, UUID jobId,
                                   byte[] secret, Path socketDir, long timeoutMs) throws InterruptedException {
        Path socket = socketDir.resolve("relay-" + jobId.toString().substring(0, 8) + ".sock");
        SourceRelay relay = new SourceRelay(jobId, socket);
        OutgoingConnection connection = OutgoingConnection.open(security, group, destination, jobId, secret,
                Handshake.Channel.QEMU_STREAM, timeoutMs);
        relay.dataPlane = connection.handOver(relay.new DataPlaneSide());
        EventLoop loop = relay.dataPlane.eventLoop();
        try {
            Files.deleteIfExists(socket);
            relay.server = new ServerBootstrap().group(loop, loop).channel(NioServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            if (relay.qemu != null) {
                                log.warn("QEMU relay for job {}: refused a second connection (multifd and post-copy "
                                        + "preempt channels are not relayed)", jobId);
                                ch.close();
                                return;
                            }
                            relay.qemu = ch;
                            ch.pipeline().addLast(relay.new QemuSide());
                        }
                    })
                    .bind(UnixDomainSocketAddress.of(socket)).sync().channel();
        } catch (IOException | RuntimeException e) {
            relay.dataPlane.close();
            throw new MigrationFailure("cannot listen on " + socket + " for the source QEMU: " + e.getMessage(), e);
        }
        return relay;
    }

    /** What to give QMP {@code migrate} on the source QEMU. */
    public String uri() {
        return "unix:" + socket;
    }

    /** Completes with the final figures once both ends closed after the whole stream, or with a {@link RelayFailure}. */
    public CompletionStage<StreamProgress> done() {
        return done;
    }

    /** What the tee has read so far; from any thread. */
    public StreamProgress progress() {
        return tee.progress();
    }

    /** Cancel: closes both ends; the relay fails unless it had already ended. */
    @Override
    public void close() {
        dataPlane.eventLoop().execute(() -> fail("the relay was closed (cancelled)", -1, null));
    }

    private void forward(ByteBuf checked) {
        dataPlane.write(checked, dataPlane.voidPromise());
    }

    /** The first failure wins: both connections close, the socket goes. */
    private void fail(String reason, long offset, Throwable cause) {
        if (!done.isDone()) {
            log.warn("QEMU relay for job {} failed: {}", jobId, reason);
            done.completeExceptionally(new RelayFailure(reason, offset, cause));
        }
        shutDown();
    }

    private void shutDown() {
        Channel q = qemu;
        if (q != null) {
            q.close();
        } else {
            qemuClosed = true;   // QEMU never connected, and no longer can once the server below is closed
        }
        dataPlane.close();
        if (server != null) {
            server.close();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.debug("cannot delete {}: {}", socket, e.toString());
        }
        if (qemuClosed && dataPlaneClosed) {
            tee.close();
        }
    }

    /** Success once both ends are closed after the whole stream went through. */
    private void maybeFinished() {
        if (qemuClosed && dataPlaneClosed) {
            if (tee.complete()) {
                done.complete(tee.progress());
            }
            shutDown();
        }
    }

    /** The source QEMU's connection. */
    private final class QemuSide extends ChannelInboundHandlerAdapter {

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            server.close();   // one connection per relay
            super.channelActive(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (done.isDone()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            try {
                tee.offer((ByteBuf) msg);
            } catch (StreamTee.Refusal refusal) {
                fail("Ferry's decoder refused the source QEMU's stream at offset " + refusal.offset() + ": "
                        + refusal.getMessage(), refusal.offset(), refusal);
                return;
            }
            dataPlane.flush();
            if (!dataPlane.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
            if (ctx.channel().isWritable()) {
                dataPlane.config().setAutoRead(true);
            }
            super.channelWritabilityChanged(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            qemuClosed = true;
            if (!done.isDone()) {
                try {
                    tee.endOfInput();
                    // the whole stream is on its way: let it drain, then hang up
                    dataPlane.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                } catch (StreamTee.Refusal refusal) {
                    fail("the source QEMU closed its migration stream after " + tee.progress().receivedBytes()
                            + " bytes, before its end (migrate_cancel, or a failure on its side): "
                            + refusal.getMessage(), -1, refusal);
                }
            }
            maybeFinished();
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail("the source QEMU's socket failed: " + cause, -1, cause);
        }
    }

    /** The data-plane connection to the destination, after the handshake. */
    private final class DataPlaneSide extends ChannelInboundHandlerAdapter {

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel q = qemu;
            if (q == null || done.isDone()) {
                ReferenceCountUtil.release(msg);   // no return path before QEMU opened it
                return;
            }
            q.writeAndFlush(msg, q.voidPromise());
            if (!q.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
            Channel q = qemu;
            if (ctx.channel().isWritable() && q != null) {
                q.config().setAutoRead(true);
            }
            super.channelWritabilityChanged(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            dataPlaneClosed = true;
            if (!done.isDone()) {
                if (tee.complete()) {
                    // the destination took the whole stream and hung up: pass its last words on, then close
                    Channel q = qemu;
                    if (q != null && q.isActive()) {
                        q.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                    }
                } else {
                    fail("the data-plane connection to the destination closed after " + tee.progress().forwardedBytes()
                            + " bytes of the stream, before its end", -1, null);
                }
            }
            maybeFinished();
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail("the data-plane connection to the destination failed: " + cause, -1, cause);
        }
    }
}
