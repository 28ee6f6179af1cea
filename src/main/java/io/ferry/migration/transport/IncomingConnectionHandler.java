package io.ferry.migration.transport;

import io.ferry.wire.Handshake;
import io.ferry.wire.ReturnPathMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import java.security.SecureRandom;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destination side of one data-plane connection: Ferry's handshake first (HELLO with a fresh
 * nonce, the source's PROOF, our VERDICT), then the QEMU stream into the migration's sink, then
 * QEMU's SHUT on the return path. A connection that cannot prove the job's secret is refused
 * before a single stream byte is read.
 *
 * <p>Bytes are decoded straight from each socket read. Only an element split across two reads
 * is put together in a small buffer, topped up a few KiB at a time, so the hot path copies each
 * page once: from the socket buffer into guest memory.
 */
final class IncomingConnectionHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(IncomingConnectionHandler.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int TOP_UP_BYTES = 8192;

    private enum State { AWAIT_PROOF, STREAM, DONE }

    private final IncomingRegistry registry;
    private final byte[] nonce = new byte[Handshake.NONCE_LENGTH];
    private State state = State.AWAIT_PROOF;
    private IncomingRegistry.StreamSink sink;
    /** The unfinished tail of earlier reads; null or empty when there is none. */
    private ByteBuf pending;

    IncomingConnectionHandler(IncomingRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        RANDOM.nextBytes(nonce);
        ByteBuf hello = ctx.alloc().buffer();
        Handshake.encodeHello(hello, nonce);
        ctx.writeAndFlush(hello);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (pending != null && pending.isReadable()) {
                while (in.isReadable() && pending.isReadable() && state != State.DONE) {
                    pending.writeBytes(in, Math.min(in.readableBytes(), TOP_UP_BYTES));
                    process(ctx, pending);
                }
                pending.discardReadBytes();
            }
            if (in.isReadable() && state != State.DONE) {
                process(ctx, in);
                if (in.isReadable() && state != State.DONE) {
                    if (pending == null) {
                        pending = ctx.alloc().buffer(2 * TOP_UP_BYTES);
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
        if (refusal != null) {
            refuse(ctx, remote, refusal, Handshake.REFUSED_BAD_PROOF);
            return;
        }
        IncomingRegistry.ConnectionControl control = control(ctx);
        try {
            sink = channel == Handshake.Channel.MAIN ? endpoint.attach(remote, control)
                    : endpoint.attachPreempt(remote, control);
        } catch (IllegalStateException busy) {
            refuse(ctx, remote, busy.getMessage(), Handshake.REFUSED_BUSY);
            return;
        }
        state = State.STREAM;
        ByteBuf verdict = ctx.alloc().buffer(1);
        Handshake.encodeVerdict(verdict, Handshake.ACCEPTED);
        ctx.writeAndFlush(verdict);
        log.info("data plane: accepted {} for job {} from {}", channel == Handshake.Channel.MAIN ? "migration stream"
                : "post-copy preempt channel", jobId, remote);
    }

    private void refuse(ChannelHandlerContext ctx, String remote, String refusal, int code) {
        log.warn("data plane: refused connection from {}: {}", remote, refusal);
        state = State.DONE;
        ByteBuf verdict = ctx.alloc().buffer(1);
        Handshake.encodeVerdict(verdict, code);
        ctx.writeAndFlush(verdict).addListener(ChannelFutureListener.CLOSE);
    }

    private static IncomingRegistry.ConnectionControl control(ChannelHandlerContext ctx) {
        return new IncomingRegistry.ConnectionControl() {
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
            public void close() {
                ctx.close();
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
            log.warn("data plane: connection from {} failed: {}", ctx.channel().remoteAddress(), reason.toString());
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
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
