package io.ferry.worker;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The worker's HTTP endpoint for control-plane commands.
 *
 * <p>Pipeline, in order: TLS when the worker has control-channel certificates ({@link ControlChannelTls}) → HTTP codec → keep-alive → aggregate one request (1 MiB at most; commands
 * are small) → {@link ControlChannelHandler}, which checks the token and hands the command to a
 * worker thread so slow commands (allocating or checksumming guest memory) never block I/O.
 * {@code GET /metrics} (Prometheus) is answered there too, without the token: see the handler.
 */
final class ControlChannelServer implements AutoCloseable {

    private static final int MAX_COMMAND_BYTES = 1 << 20;
    /** A client that has not finished its TLS handshake by then is cut off: it holds a connection for nothing. */
    private static final long HANDSHAKE_TIMEOUT_MS = 5_000;

    private final Channel channel;
    private final ExecutorService commandThreads;

    private ControlChannelServer(Channel channel, ExecutorService commandThreads) {
        this.channel = channel;
        this.commandThreads = commandThreads;
    }

    static ControlChannelServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address, String token,
                                     ControlChannelTls tls, ControlCommands commands, WorkerMetrics metrics)
            throws InterruptedException {
        SslContext ssl = tls == null ? null : tls.serverContext();
        ExecutorService commandThreads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "control-command");
            t.setDaemon(true);
            return t;
        });
        Channel channel = new ServerBootstrap()
                .group(boss, io)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (ssl != null) {
                            SslHandler handler = ssl.newHandler(ch.alloc());
                            handler.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MS);
                            ch.pipeline().addLast(handler);
                        }
                        ch.pipeline()
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new HttpObjectAggregator(MAX_COMMAND_BYTES))
                                .addLast(new ControlChannelHandler(token, ssl != null, commands, metrics,
                                        commandThreads));
                    }
                })
                .bind(address).sync().channel();
        return new ControlChannelServer(channel, commandThreads);
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        commandThreads.shutdownNow();
    }
}
