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
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The worker's HTTP endpoint for control-plane commands.
 *
 * <p>Pipeline, in order: HTTP codec → keep-alive → aggregate one request (1 MiB at most; commands
 * are small) → {@link ControlChannelHandler}, which checks the token and hands the command to a
 * worker thread so slow commands (allocating or checksumming guest memory) never block I/O.
 * {@code GET /metrics} (Prometheus) is answered there too, without the token: see the handler.
 */
final class ControlChannelServer implements AutoCloseable {

    private static final int MAX_COMMAND_BYTES = 1 << 20;

    private final Channel channel;
    private final ExecutorService commandThreads;

    private ControlChannelServer(Channel channel, ExecutorService commandThreads) {
        this.channel = channel;
        this.commandThreads = commandThreads;
    }

    static ControlChannelServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address, String token,
                                     ControlCommands commands, WorkerMetrics metrics) throws InterruptedException {
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
                        ch.pipeline()
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new HttpObjectAggregator(MAX_COMMAND_BYTES))
                                .addLast(new ControlChannelHandler(token, commands, metrics, commandThreads));
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
