package io.ferry.migration.transport;

import io.ferry.wire.Handshake;
import io.ferry.wire.ReturnPathMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.security.SecureRandom;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destination side of one data-plane connection: Ferry's handshake first (HELLO with a fresh
 * nonce, the source's PROOF, our VERDICT), then the QEMU stream into the migration's sink, then
 * QEMU's SHUT on the return path. A connection that cannot prove the job's secret is refused
 * before a single stream byte is read.
 */
final class IncomingConnectionHandler extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(IncomingConnectionHandler.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private enum State { AWAIT_PROOF, STREAM, DONE }

    private final IncomingRegistry registry;
    private final byte[] nonce = new byte[Handshake.NONCE_BYTES];
    private State state = State.AWAIT_PROOF;
    private IncomingRegistry.StreamSink sink;

    IncomingConnectionHandler(IncomingRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        RANDOM.nextBytes(nonce);
        ByteBuf hello = ctx.alloc().buffer();
        Handshake.writeHello(hello, nonce);
        ctx.writeAndFlush(hello);
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        switch (state) {
            case AWAIT_PROOF -> authenticate(ctx, in);
            case STREAM -> {
                if (sink.feed(in)) {
                    state = State.DONE;
                    // the stream is over either way: answer, then hang up (the source reads the answer first)
                    answer(ctx, sink.shutStatus(), sink.failureReason()).addListener(ChannelFutureListener.CLOSE);
                }
            }
            case DONE -> in.skipBytes(in.readableBytes());
        }
    }

    private void authenticate(ChannelHandlerContext ctx, ByteBuf in) {
        Handshake.Proof proof = Handshake.readProof(in);
        if (proof == null) {
            return;
        }
        String remote = String.valueOf(ctx.channel().remoteAddress());
        UUID jobId = proof.jobId();
        IncomingRegistry.IncomingEndpoint endpoint = registry.expected(jobId);
        String refusal = endpoint == null ? "no incoming migration is expected for job " + jobId
                : !Handshake.verify(endpoint.secret(), nonce, jobId, proof.hmac()) ? "wrong secret for job " + jobId
                : null;
        if (refusal != null) {
            log.warn("data plane: refused connection from {}: {}", remote, refusal);
            state = State.DONE;
            ByteBuf verdict = ctx.alloc().buffer(1);
            Handshake.writeVerdict(verdict, false);
            ctx.writeAndFlush(verdict).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        sink = endpoint.attach(remote, new IncomingRegistry.ConnectionControl() {
            @Override
            public void runOnConnectionThread(Runnable task) {
                ctx.executor().execute(task);
            }

            @Override
            public void close() {
                ctx.close();
            }
        });
        state = State.STREAM;
        ByteBuf verdict = ctx.alloc().buffer(1);
        Handshake.writeVerdict(verdict, true);
        ctx.writeAndFlush(verdict);
        log.info("data plane: accepted migration stream for job {} from {}", jobId, remote);
    }

    /** QEMU's SHUT, preceded by Ferry's REASON when the destination refused the stream. */
    private static io.netty.channel.ChannelFuture answer(ChannelHandlerContext ctx, int status, String reason) {
        ByteBuf out = ctx.alloc().buffer();
        if (status != 0 && reason != null) {
            ReturnPathMessage.encode(out, new ReturnPathMessage.Reason(reason));
        }
        ReturnPathMessage.encode(out, new ReturnPathMessage.Shut(status));
        return ctx.writeAndFlush(out);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        super.channelInactive(ctx);
        if (sink != null && state == State.STREAM) {
            sink.closed(null);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable reason = cause.getCause() != null && cause instanceof io.netty.handler.codec.DecoderException
                ? cause.getCause() : cause;
        if (sink != null && state == State.STREAM) {
            state = State.DONE;
            sink.closed(reason);
            answer(ctx, 1, sink.failureReason()).addListener(ChannelFutureListener.CLOSE);
        } else {
            log.warn("data plane: connection from {} failed: {}", ctx.channel().remoteAddress(), reason.toString());
            ctx.close();
        }
    }
}
