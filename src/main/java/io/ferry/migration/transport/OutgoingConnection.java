package io.ferry.migration.transport;

import io.ferry.migration.MigrationFailure;
import io.ferry.wire.Handshake;
import io.ferry.wire.ReturnPathDecoder;
import io.ferry.wire.ReturnPathMessage;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.FileRegion;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.FileChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import javax.net.ssl.SSLException;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Source side of a data-plane connection, used from the migration thread: connect, read which
 * mode the destination speaks (TLS or plain, see {@link Handshake}) and refuse a mode other than
 * this worker's own, run the TLS handshake when it is TLS, prove the job (Ferry handshake), then
 * write the stream with back-pressure (the thread waits while the socket's buffer is above its
 * high-water mark) and read QEMU's return path for the SHUT that says whether the destination
 * took the guest.
 */
public final class OutgoingConnection implements AutoCloseable {

    /** A link that takes no data for this long is broken (a half-open connection, say). */
    public static final long STALL_TIMEOUT_NANOS = 30_000_000_000L;
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(2 << 20, 8 << 20);

    /**
     * Plaintext the TLS handler encrypts per write: 16 records into one pooled buffer and one
     * outbound entry, instead of Netty's default of one record (16 KiB) per buffer, write and
     * promise, a large share of the sender's TLS cost. Larger would exceed the allocator's pooled
     * size (1 MiB) and copy more of each batch's tail (the handler merges it with the next batch).
     */
    static final int WRAP_DATA_SIZE = 256 << 10;

    /** Netty counts a FileRegion as 0 bytes by default: count it, so the water mark holds the sender back. */
    private static final MessageSizeEstimator SIZES = () -> message -> message instanceof FileRegion region
            ? (int) Math.min(Integer.MAX_VALUE, region.count())
            : DefaultMessageSizeEstimator.DEFAULT.newHandle().size(message);

    /** A region of a file someone else keeps open: releasing it must not close the channel. */
    private static final class BorrowedFileRegion extends DefaultFileRegion {
        BorrowedFileRegion(FileChannel file, long position, long count) {
            super(file, position, count);
        }

        @Override
        protected void deallocate() {
            // the image's channel stays open
        }
    }

    private final Channel channel;
    private final Handler handler;

    private OutgoingConnection(Channel channel, Handler handler) {
        this.channel = channel;
        this.handler = handler;
    }

    public static OutgoingConnection open(EventLoopGroup group, String hostPort, UUID jobId, byte[] secret,
                                          long timeoutMs) throws InterruptedException {
        return open(DataPlaneSecurity.plain(), group, hostPort, jobId, secret, Handshake.Channel.MAIN, timeoutMs);
    }

    /** Opens one of the job's channels: the main one, or post-copy's preempt channel. */
    public static OutgoingConnection open(EventLoopGroup group, String hostPort, UUID jobId, byte[] secret,
                                          Handshake.Channel kind, long timeoutMs) throws InterruptedException {
        return open(DataPlaneSecurity.plain(), group, hostPort, jobId, secret, kind, timeoutMs);
    }

    /**
     * Opens one of the job's channels with this worker's data-plane security: TLS when it has
     * certificates (then a plain destination is refused), plain otherwise (then a destination
     * that requires TLS is refused).
     */
    public static OutgoingConnection open(DataPlaneSecurity security, EventLoopGroup group, String hostPort,
                                          UUID jobId, byte[] secret, Handshake.Channel kind, long timeoutMs)
            throws InterruptedException {
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon);
        int port = Integer.parseInt(hostPort.substring(colon + 1));
        Handler handler = new Handler(jobId, secret, kind, security, host, port, timeoutMs);
        Channel channel;
        try {
            channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeoutMs)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                    .option(ChannelOption.MESSAGE_SIZE_ESTIMATOR, SIZES)
                    .option(ChannelOption.SO_SNDBUF, 4 << 20)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(handler);
                        }
                    })
                    .connect(host, port).sync().channel();
        } catch (Exception e) {
            throw new MigrationFailure("cannot connect to destination data plane " + hostPort + ": " + e.getMessage(), e);
        }
        OutgoingConnection connection = new OutgoingConnection(channel, handler);
        try {
            connection.await(handler.accepted, timeoutMs, "handshake with destination " + hostPort);
        } catch (RuntimeException | InterruptedException e) {
            channel.close();
            throw e;
        }
        return connection;
    }

    /** The thread that reads and writes this connection. */
    public io.netty.channel.EventLoop eventLoop() {
        return channel.eventLoop();
    }

    public ByteBufAllocator alloc() {
        return channel.alloc();
    }

    /** Writes one buffer (ownership passes to the channel), waiting while the socket is congested. */
    public void write(ByteBuf buf) throws InterruptedException {
        send(buf);
    }

    /**
     * Writes one buffer (ownership passes to the channel) without waiting for the socket: the
     * caller paces itself with {@link #isWritable()} and {@link #onWritable}, so it can do other
     * work (post-copy: serve a page request) while the socket drains.
     */
    public void writeWithoutWaiting(ByteBuf buf) {
        try {
            failIfBroken();
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
        channel.writeAndFlush(buf, channel.voidPromise());
    }

    /** False while the socket's buffer is above its high-water mark (true once the connection is gone: writes fail). */
    public boolean isWritable() {
        return channel.isWritable() || !channel.isActive();
    }

    /** Runs {@code listener} on the connection's thread whenever it becomes writable again or breaks. */
    public void onWritable(Runnable listener) {
        handler.writable = listener;
    }

    /**
     * Sends {@code count} bytes of {@code file} from {@code position} straight from the page cache
     * to the socket (sendfile), in order with the buffers written before and after it. The file
     * stays open: it belongs to the caller.
     */
    public void write(FileChannel file, long position, long count) throws InterruptedException {
        if (handler.tls != null) {
            send(readIn(file, position, count));   // TLS encrypts in this process: no sendfile
            return;
        }
        send(new BorrowedFileRegion(file, position, count));
    }

    private ByteBuf readIn(FileChannel file, long position, long count) {
        ByteBuf buf = channel.alloc().directBuffer((int) count);
        try {
            while (buf.writerIndex() < count) {
                int n = buf.writeBytes(file, position + buf.writerIndex(), (int) count - buf.writerIndex());
                if (n < 0) {
                    throw new MigrationFailure("image ended early at " + (position + buf.writerIndex()));
                }
            }
            return buf;
        } catch (java.io.IOException e) {
            buf.release();
            throw new MigrationFailure("cannot read image: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
    }

    /**
     * Hands the authenticated connection over to a relay of QEMU's own stream
     * ({@link Handshake.Channel#QEMU_STREAM}): {@code raw} replaces this class's handler (TLS, if
     * any, stays in front of it), so from here every byte in either direction is the relay's,
     * return path included, and this object's write and await methods must not be used again.
     * Bytes that arrived after the verdict go on to {@code raw}.
     */
    public Channel handOver(io.netty.channel.ChannelHandler raw) {
        channel.eventLoop().submit(() -> channel.pipeline().replace(handler, "relay", raw)).syncUninterruptibly();
        return channel;
    }

    /** The TLS session of this connection, or null when it is plain TCP. */
    public TlsSession tlsSession() {
        return handler.session;
    }

    private void send(Object message) throws InterruptedException {
        try {
            failIfBroken();
        } catch (RuntimeException e) {
            ReferenceCountUtil.release(message);
            throw e;
        }
        channel.writeAndFlush(message, channel.voidPromise());
        long stalledSince = System.nanoTime();
        synchronized (handler) {
            while (!channel.isWritable() && channel.isActive()) {
                if (System.nanoTime() - stalledSince > STALL_TIMEOUT_NANOS) {
                    // a link that takes nothing for this long is as good as broken (a half-open
                    // connection would otherwise hold the migration until TCP gives up, minutes later)
                    channel.close();
                    throw new MigrationFailure("the link to the destination took no data for "
                            + STALL_TIMEOUT_NANOS / 1_000_000_000 + " s");
                }
                handler.wait(100);
            }
        }
        failIfBroken();
    }

    /** Throws if the connection broke (or the destination refused the stream). */
    public void checkOpen() {
        failIfBroken();
    }

    /** Waits for the destination's verdict on the whole stream: QEMU's SHUT, 0 when it took the guest. */
    public int awaitShut(long timeoutMs) throws InterruptedException {
        return await(handler.shut, timeoutMs, "the destination's answer to the stream");
    }

    /**
     * Post-copy: keep little in flight, so a requested page waits behind at most a few hundred KiB
     * of background pages instead of megabytes of buffers (one connection carries both).
     */
    public void shallowBuffers() {
        channel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(32 << 10, 128 << 10));
        channel.config().setOption(ChannelOption.SO_SNDBUF, 128 << 10);
    }

    /**
     * Post-copy: the destination's page requests and recovery answers (every return-path message
     * but SHUT and REASON), delivered on the connection's thread.
     */
    public void onReturnPath(java.util.function.Consumer<ReturnPathMessage> messages) {
        handler.messages = messages;
    }

    /** True once the destination answered SHUT with a non-zero status: a verdict, not a broken link. */
    public boolean refusedByDestination() {
        return handler.shut.isDone() && !handler.shut.isCompletedExceptionally() && handler.shut.join() != 0;
    }

    /** The destination's stated reason for refusing the stream, if it sent one. */
    public String destinationReason() {
        return handler.reason;
    }

    private <T> T await(CompletableFuture<T> future, long timeoutMs, String what) throws InterruptedException {
        try {
            return future.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof MigrationFailure f ? f : new MigrationFailure(e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new MigrationFailure("timed out after " + timeoutMs + " ms waiting for " + what);
        }
    }

    /**
     * Throws once the connection is unusable. A destination that answered SHUT(0) and hung up is
     * not broken; one that refused (REASON, SHUT non-zero) fails with its reason.
     */
    private void failIfBroken() {
        if (handler.shut.isDone() && !handler.shut.isCompletedExceptionally()) {
            int status = handler.shut.join();
            if (status != 0) {
                throw new MigrationFailure("destination rejected the stream (return-path SHUT " + status + ")"
                        + (handler.reason == null ? "" : ": " + handler.reason));
            }
            return;
        }
        if (handler.broken.isDone()) {
            throw handler.broken.join();
        }
    }

    @Override
    public void close() {
        channel.close();
    }

    /** The destination answered the handshake with no: it does not expect this job (or not this secret). */
    public static final class Refused extends MigrationFailure {
        Refused() {
            super("destination refused the connection: job or secret not accepted");
        }
    }

    /** Handshake, then the return path. Completes the futures the migration thread waits on. */
    private static final class Handler extends ByteToMessageDecoder {

        /** AWAIT_MODE: the destination's first bytes; AWAIT_TLS: the TLS handshake runs. */
        private enum State { AWAIT_MODE, AWAIT_TLS, AWAIT_HELLO, AWAIT_VERDICT, RETURN_PATH }

        private final UUID jobId;
        private final byte[] secret;
        private final Handshake.Channel kind;
        /** This worker's TLS, null when its data plane is plain. */
        final DataPlaneTls tls;
        private final String host;
        private final int port;
        private final long timeoutMs;
        /** Set once the TLS handshake succeeded. */
        volatile TlsSession session;
        volatile Runnable writable;
        final CompletableFuture<Boolean> accepted = new CompletableFuture<>();
        final CompletableFuture<Integer> shut = new CompletableFuture<>();
        final CompletableFuture<MigrationFailure> broken = new CompletableFuture<>();
        private State state = State.AWAIT_MODE;
        private volatile String reason;
        private final ReturnPathDecoder returnPath = new ReturnPathDecoder(this::onReturnPath);

        Handler(UUID jobId, byte[] secret, Handshake.Channel kind, DataPlaneSecurity security, String host, int port,
                long timeoutMs) {
            this.jobId = jobId;
            this.secret = secret;
            this.kind = kind;
            this.tls = security.tls();
            this.host = host;
            this.port = port;
            this.timeoutMs = timeoutMs;
        }

        /** Post-copy: where page requests and recovery answers go (set before RUN or RECV_BITMAP is sent). */
        volatile java.util.function.Consumer<ReturnPathMessage> messages;

        private void onReturnPath(ReturnPathMessage message) {
            if (!(message instanceof ReturnPathMessage.Reason || message instanceof ReturnPathMessage.Shut)) {
                java.util.function.Consumer<ReturnPathMessage> to = messages;
                if (to != null) {
                    to.accept(message);
                }
                return;
            }
            if (message instanceof ReturnPathMessage.Reason r) {
                reason = r.text();
            } else if (message instanceof ReturnPathMessage.Shut s) {
                shut.complete(s.status());
            }
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            switch (state) {
                case AWAIT_MODE -> {
                    Handshake.Mode mode = Handshake.decodeMode(in);
                    if (mode == Handshake.Mode.PLAIN && tls != null) {
                        refuseMode(ctx, in, "the destination's data plane is plain TCP, but this worker's requires TLS: "
                                + "give both workers data-plane certificates (--data-tls-cert, --data-tls-key, "
                                + "--data-tls-ca) or neither");
                    } else if (mode == Handshake.Mode.TLS && tls == null) {
                        refuseMode(ctx, in, "the destination's data plane requires TLS with a client certificate, but "
                                + "this worker has no data-plane certificate (--data-tls-cert, --data-tls-key, "
                                + "--data-tls-ca)");
                    } else if (mode == Handshake.Mode.TLS) {
                        state = State.AWAIT_TLS;
                        // from here every byte in either direction goes through TLS; it starts its handshake at once
                        SslHandler ssl = tls.newClientHandler(ctx.alloc(), host, port, timeoutMs);
                        ssl.setWrapDataSize(WRAP_DATA_SIZE);
                        ctx.pipeline().addBefore(ctx.name(), "tls", ssl);
                    } else if (mode == Handshake.Mode.PLAIN) {
                        state = State.AWAIT_HELLO;
                        decode(ctx, in, out);
                    }
                }
                case AWAIT_TLS -> throw new IllegalStateException("data before the TLS handshake completed");
                case AWAIT_HELLO -> {
                    Handshake.Hello hello = Handshake.decodeHello(in);
                    if (hello != null) {
                        ByteBuf proof = ctx.alloc().buffer();
                        Handshake.encodeProof(proof, jobId, Handshake.proof(secret, hello.nonce(), jobId, kind));
                        ctx.writeAndFlush(proof);
                        state = State.AWAIT_VERDICT;
                    }
                }
                case AWAIT_VERDICT -> {
                    Handshake.Verdict verdict = Handshake.decodeVerdict(in);
                    if (verdict != null) {
                        if (verdict.accepted()) {
                            state = State.RETURN_PATH;
                            accepted.complete(true);
                        } else {
                            fail(new Refused());
                        }
                    }
                }
                case RETURN_PATH -> returnPath.feed(in);
            }
        }

        private void refuseMode(ChannelHandlerContext ctx, ByteBuf in, String reason) {
            in.skipBytes(in.readableBytes());
            fail(new MigrationFailure(reason));
            ctx.close();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof SslHandshakeCompletionEvent done && state == State.AWAIT_TLS) {
                if (done.isSuccess()) {
                    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                    session = new TlsSession(ssl.engine().getSession().getProtocol(),
                            ssl.engine().getSession().getCipherSuite(), tls.providerName());
                    state = State.AWAIT_HELLO;
                } else {
                    fail(new MigrationFailure("TLS handshake with the destination failed: "
                            + DataPlaneTls.rootMessage(done.cause()), done.cause()));
                    ctx.close();
                }
            }
            super.userEventTriggered(ctx, event);
        }

        private void fail(MigrationFailure failure) {
            broken.complete(failure);
            accepted.completeExceptionally(failure);
            shut.completeExceptionally(failure);   // no-op when the destination already answered
            synchronized (this) {
                notifyAll();
            }
            wakeWriter();
        }

        private void wakeWriter() {
            Runnable to = writable;
            if (to != null) {
                to.run();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
            synchronized (this) {
                notifyAll();
            }
            if (ctx.channel().isWritable()) {
                wakeWriter();
            }
            super.channelWritabilityChanged(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            super.channelInactive(ctx);
            fail(new MigrationFailure("connection to the destination closed"
                    + (shut.isDone() ? "" : " before it confirmed the stream")));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(new MigrationFailure(isTls(cause) ? "TLS with the destination failed: " + DataPlaneTls.rootMessage(cause)
                    : "data-plane connection to the destination failed: " + cause.getMessage(), cause));
            ctx.close();
        }

        private static boolean isTls(Throwable cause) {
            for (Throwable t = cause; t != null; t = t.getCause()) {
                if (t instanceof SSLException) {
                    return true;
                }
            }
            return false;
        }
    }
}
