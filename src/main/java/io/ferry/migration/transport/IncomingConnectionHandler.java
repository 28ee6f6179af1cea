package io.ferry.migration.transport;

import io.ferry.wire.Handshake;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.channel.tls.TlsFailures;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destination side of one data-plane connection: with TLS, the clear-text announcement and the
 * TLS handshake (the source must present a certificate of the trusted CA); then Ferry's handshake
 * (HELLO with a fresh nonce, the source's PROOF, our VERDICT), then the QEMU stream into the
 * migration's sink, then QEMU's SHUT on the return path. A connection that cannot prove the job's
 * secret is refused before a single stream byte is read, and one that has not proved it within
 * the handshake timeout is closed (a peer that sends half a handshake holds nothing open).
 *
 * <p>Bytes are decoded straight from each socket read. Only an element split across two reads
 * is put together in a small buffer, topped up 1 KiB at a time until it is whole (a page record
 * is 4 KiB and a header), then the rest is decoded from the read again, so the hot path copies
 * each page once: from the socket buffer into guest memory.
 */
final class IncomingConnectionHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(IncomingConnectionHandler.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Small, because whatever whole elements follow the split one within a top-up are copied too. */
    private static final int TOP_UP_BYTES = 1024;

    /** AWAIT_TLS: announced TLS, its handshake runs; AWAIT_PROOF: HELLO sent (inside TLS if any). */
    private enum State { AWAIT_TLS, AWAIT_PROOF, STREAM, DONE }

    private final IncomingRegistry registry;
    private final DataPlaneSecurity security;
    private final byte[] nonce = new byte[Handshake.NONCE_LENGTH];
    private State state = State.AWAIT_PROOF;
    /** Closes the connection unless the handshakes end in time; cancelled once the job is proved. */
    private ScheduledFuture<?> handshakeDeadline;
    private IncomingRegistry.StreamSink sink;
    /** The unfinished tail of earlier reads; null or empty when there is none. */
    private ByteBuf pending;
    /** This connection's read buffers: page data straight into guest memory once a plain multifd channel asks. */
    private final PlacingRecvAllocator placing;
    private IncomingRegistry.DirectPlacement placement;

    /** Post-copy's fault path: the thread a preempt channel moves to once accepted; null keeps it where it is. */
    private final EventLoop faultPath;

    IncomingConnectionHandler(IncomingRegistry registry, DataPlaneSecurity security, PlacingRecvAllocator placing,
                              EventLoop faultPath) {
        this.registry = registry;
        this.security = security;
        this.placing = placing;
        this.faultPath = faultPath;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        long timeoutMs = security.handshakeTimeoutMs();
        handshakeDeadline = ctx.executor().schedule(() -> handshakeTimedOut(ctx, timeoutMs), timeoutMs,
                TimeUnit.MILLISECONDS);
        if (security.encrypted()) {
            // the announcement goes out in clear (nothing sits between this handler and the socket yet);
            // TLS is put in front of this handler in the same event-loop task, before any byte is read
            ByteBuf announce = ctx.alloc().buffer(Handshake.TLS_ANNOUNCE_LENGTH);
            Handshake.encodeTlsAnnounce(announce);
            ctx.writeAndFlush(announce);
            state = State.AWAIT_TLS;
            ctx.pipeline().addBefore(ctx.name(), "tls", security.tls().newServerHandler(ctx.alloc(), timeoutMs));
        } else {
            sendHello(ctx);
        }
        super.channelActive(ctx);
    }

    private void sendHello(ChannelHandlerContext ctx) {
        RANDOM.nextBytes(nonce);
        ByteBuf hello = ctx.alloc().buffer();
        Handshake.encodeHello(hello, nonce);
        ctx.writeAndFlush(hello);
    }

    private void handshakeTimedOut(ChannelHandlerContext ctx, long timeoutMs) {
        if (state == State.AWAIT_TLS || state == State.AWAIT_PROOF) {
            log.warn("data plane: closing connection from {}: its {} handshake did not complete within {} ms",
                    ctx.channel().remoteAddress(), state == State.AWAIT_TLS ? "TLS" : "Ferry", timeoutMs);
            state = State.DONE;
            ctx.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof SslHandshakeCompletionEvent done && state == State.AWAIT_TLS) {
            if (done.isSuccess()) {
                state = State.AWAIT_PROOF;
                sendHello(ctx);   // through TLS now
            } else {
                state = State.DONE;
                log.warn("data plane: refused connection from {}: {}", ctx.channel().remoteAddress(),
                        done.cause() instanceof java.nio.channels.ClosedChannelException
                                ? "it hung up before the TLS handshake (a worker without data-plane TLS?)"
                                : "TLS handshake failed: " + DataPlaneTls.rootMessage(done.cause()));
                ctx.close();
            }
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (placing.isTarget(in)) {
            try {
                if (state == State.STREAM) {
                    placement.placed(in.readableBytes());   // already in guest memory
                }
            } catch (RuntimeException e) {
                failed(ctx, e);
            } finally {
                in.release();   // a view: frees nothing
            }
            return;
        }
        try {
            if (pending != null && pending.isReadable()) {
                while (in.isReadable() && pending.isReadable() && state != State.DONE) {
                    int added = Math.min(in.readableBytes(), TOP_UP_BYTES);
                    pending.writeBytes(in, added);
                    process(ctx, pending);
                    int left = pending.readableBytes();
                    if (left <= added) {
                        // the split element is whole: what follows it is still in `in`, so decode it
                        // from there instead of copying the rest of the read through this buffer
                        in.readerIndex(in.readerIndex() - left);
                        pending.clear();
                    }
                }
                pending.discardReadBytes();
            }
            if (in.isReadable() && state != State.DONE) {
                process(ctx, in);
                if (in.isReadable() && state != State.DONE) {
                    if (pending == null) {
                        pending = ctx.alloc().buffer(16 << 10);
                    }
                    pending.writeBytes(in);
                }
            }
        } catch (RuntimeException e) {
            failed(ctx, e);
        } finally {
            in.release();
        }
    }

    private void process(ChannelHandlerContext ctx, ByteBuf in) {
        switch (state) {
            case AWAIT_PROOF -> {
                authenticate(ctx, in);
                if (state == State.STREAM && in.isReadable()) {
                    process(ctx, in);
                }
            }
            case STREAM -> {
                try {
                    if (sink.feed(in)) {
                        state = State.DONE;
                        // the stream is over either way: answer once decided, then hang up (the source reads it first)
                        sink.verdict().whenComplete((verdict, error) -> ctx.executor().execute(() -> {
                            int status = error == null ? verdict.shutStatus() : 1;
                            String reason = error == null ? verdict.reason() : error.toString();
                            answer(ctx, status, reason).addListener(ChannelFutureListener.CLOSE);
                        }));
                    }
                } catch (Exception e) {
                    throw e instanceof RuntimeException r ? r : new DecoderException(e);
                }
            }
            case AWAIT_TLS -> throw new IllegalStateException("data before the TLS handshake completed");
            case DONE -> in.skipBytes(in.readableBytes());
        }
    }

    private void authenticate(ChannelHandlerContext ctx, ByteBuf in) {
        Handshake.Proof proof = Handshake.decodeProof(in);
        if (proof == null) {
            return;
        }
        String remote = String.valueOf(ctx.channel().remoteAddress());
        UUID jobId = proof.jobId();
        IncomingRegistry.IncomingEndpoint endpoint = registry.expected(jobId);
        Handshake.Channel channel = endpoint == null ? null
                : Handshake.verifiedChannel(endpoint.secret(), nonce, jobId, proof);
        String refusal = endpoint == null ? "no incoming migration is expected for job " + jobId
                : channel == null ? "wrong secret for job " + jobId
                : null;
        if (endpoint == null && !security.encrypted() && Handshake.looksLikeTls(in.slice(in.readerIndex()
                - Handshake.PROOF_LENGTH, Handshake.PROOF_LENGTH))) {
            refusal = "the peer speaks TLS, but this data plane is plain (no data-plane certificate configured here)";
        }
        if (refusal != null) {
            refuse(ctx, remote, refusal, Handshake.REFUSED_BAD_PROOF);
            return;
        }
        IncomingRegistry.ConnectionControl control = control(ctx);
        try {
            sink = switch (channel) {
                case MAIN -> endpoint.attach(remote, control);
                case POSTCOPY_PREEMPT -> endpoint.attachPreempt(remote, control);
                case MULTIFD -> endpoint.attachMultifd(remote, control);
                case QEMU_STREAM -> endpoint.attachQemuStream(remote, control);
            };
        } catch (IllegalStateException busy) {
            refuse(ctx, remote, busy.getMessage(), Handshake.REFUSED_BUSY);
            return;
        }
        state = State.STREAM;
        cancelDeadline();
        placement = ctx.pipeline().get(SslHandler.class) == null ? sink.directPlacement() : null;
        if (placement != null) {
            // TLS decrypts into its own buffers: only plain TCP can read into guest memory
            placing.placeWith(placement, () -> state == State.STREAM && (pending == null || !pending.isReadable()));
        }
        ByteBuf verdict = ctx.alloc().buffer(1);
        Handshake.encodeVerdict(verdict, Handshake.ACCEPTED);
        ctx.writeAndFlush(verdict);
        if (channel == Handshake.Channel.POSTCOPY_PREEMPT) {
            moveToFaultPath(ctx.channel());
        }
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        String what = switch (channel) {
            case MAIN -> "migration stream";
            case POSTCOPY_PREEMPT -> "post-copy preempt channel";
            case MULTIFD -> "multifd channel";
            case QEMU_STREAM -> "relayed QEMU stream";
        };
        log.info("data plane: accepted {} for job {} from {}{}", what, jobId, remote, tls == null ? " (plain TCP)"
                : " (" + tls.engine().getSession().getProtocol() + ", " + tls.engine().getSession().getCipherSuite()
                + ", " + security.tls().providerName() + ")");
    }

    /**
     * A preempt channel leaves the event loop it was accepted on (which may be reading the main
     * stream's background push) for the fault path's own thread: the requested pages it carries
     * and the page requests it sends wait for nothing else. The source writes nothing on it before
     * it reads the verdict, so no byte is in flight while it moves.
     */
    private void moveToFaultPath(Channel channel) {
        if (faultPath == null || channel.eventLoop() == faultPath) {
            return;
        }
        channel.config().setAutoRead(false);
        channel.deregister().addListener(deregistered -> {
            if (!deregistered.isSuccess()) {
                channel.close();
                return;
            }
            faultPath.register(channel).addListener(registered -> {
                if (registered.isSuccess()) {
                    channel.config().setAutoRead(true);
                } else {
                    log.warn("data plane: cannot move a post-copy preempt channel to the fault path: {}",
                            registered.cause().toString());
                    channel.close();
                }
            });
        });
    }

    private void cancelDeadline() {
        if (handshakeDeadline != null) {
            handshakeDeadline.cancel(false);
            handshakeDeadline = null;
        }
    }

    private void refuse(ChannelHandlerContext ctx, String remote, String refusal, int code) {
        log.warn("data plane: refused connection from {}: {}", remote, refusal);
        state = State.DONE;
        cancelDeadline();
        ByteBuf verdict = ctx.alloc().buffer(1);
        Handshake.encodeVerdict(verdict, code);
        ctx.writeAndFlush(verdict).addListener(ChannelFutureListener.CLOSE);
    }

    /** Feeds the sink what it left unread, then reads from the socket again. On the connection's thread. */
    private void resume(ChannelHandlerContext ctx) {
        try {
            if (pending != null && pending.isReadable() && state == State.STREAM) {
                process(ctx, pending);
                pending.discardReadBytes();
            }
        } catch (RuntimeException e) {
            failed(ctx, e);
            return;
        }
        ctx.channel().config().setAutoRead(true);
    }

    private IncomingRegistry.ConnectionControl control(ChannelHandlerContext ctx) {
        return new IncomingRegistry.ConnectionControl() {
            @Override
            public void pauseReading() {
                ctx.channel().config().setAutoRead(false);
            }

            @Override
            public void resumeReading() {
                ctx.executor().execute(() -> resume(ctx));
            }

            @Override
            public void runOnConnectionThread(Runnable task) {
                ctx.executor().execute(task);
            }

            @Override
            public void shallowBuffers() {
                ctx.channel().config().setOption(io.netty.channel.ChannelOption.SO_RCVBUF, 128 << 10);
            }

            @Override
            public void send(ReturnPathMessage message) {
                ctx.executor().execute(() -> {
                    ByteBuf out = ctx.alloc().buffer(64);
                    ReturnPathMessage.encode(out, message);
                    ctx.writeAndFlush(out);
                });
            }

            @Override
            public void write(ByteBuf bytes) {
                ctx.writeAndFlush(bytes, ctx.voidPromise());   // Netty hands it to the connection's thread
            }

            @Override
            public void flushAndClose() {
                ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }

            @Override
            public void close() {
                ctx.close();
            }

            @Override
            public void closeAndWait() {
                io.netty.channel.ChannelFuture closing = ctx.channel().close();
                if (!ctx.executor().inEventLoop()) {
                    closing.awaitUninterruptibly();
                }
            }
        };
    }

    /** QEMU's SHUT, preceded by Ferry's REASON when the destination refused the stream. */
    private static ChannelFuture answer(ChannelHandlerContext ctx, int status, String reason) {
        ByteBuf out = ctx.alloc().buffer();
        if (status != 0 && reason != null) {
            ReturnPathMessage.encode(out, new ReturnPathMessage.Reason(reason));
        }
        ReturnPathMessage.encode(out, new ReturnPathMessage.Shut(status));
        return ctx.writeAndFlush(out);
    }

    private void failed(ChannelHandlerContext ctx, Throwable cause) {
        Throwable reason = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (sink != null && state == State.STREAM) {
            state = State.DONE;
            sink.closed(reason);
            if (sink.verdict().toCompletableFuture().isDone()) {
                answer(ctx, 1, sink.failureReason()).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.close();   // post-copy paused instead of refusing: no verdict, the source reconnects
            }
        } else {
            state = State.DONE;
            log.warn("data plane: connection from {} failed: {}", ctx.channel().remoteAddress(),
                    TlsFailures.describe(reason));
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelDeadline();
        if (pending != null) {
            pending.release();
            pending = null;
        }
        if (sink != null && state == State.STREAM) {
            state = State.DONE;
            sink.closed(null);
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed(ctx, cause);
    }
}
