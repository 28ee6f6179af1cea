package io.ferry.worker;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data-plane listener that migration streams connect to. A connection is accepted only
 * for an incoming migration the control plane announced; this worker has none to accept yet
 * (the migration engine arrives with pre-copy), so every connection is refused and logged.
 */
final class DataPlaneServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DataPlaneServer.class);

    private final Channel channel;

    private DataPlaneServer(Channel channel) {
        this.channel = channel;
    }

    static DataPlaneServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address)
            throws InterruptedException {
        Channel channel = new ServerBootstrap()
                .group(boss, io)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        log.warn("data plane: refused connection from {}: no incoming migration is expected",
                                ctx.channel().remoteAddress());
                        ctx.close();
                    }
                })
                .bind(address).sync().channel();
        return new DataPlaneServer(channel);
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
