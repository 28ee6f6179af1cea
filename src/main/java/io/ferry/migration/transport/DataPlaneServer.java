package io.ferry.migration.transport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;

/**
 * The data-plane listener migration streams connect to. Pipeline of a connection: one
 * {@link IncomingConnectionHandler} that authenticates the job and then feeds the stream
 * decoder of that job's incoming migration. With TLS the handler puts an {@code SslHandler} in
 * front of itself once it has announced TLS in clear (see {@link io.ferry.wire.Handshake}), so
 * the pipeline becomes: TLS, then Ferry's handshake and the stream.
 */
public final class DataPlaneServer implements AutoCloseable {

    private final Channel channel;

    private DataPlaneServer(Channel channel) {
        this.channel = channel;
    }

    public static DataPlaneServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address,
                                       IncomingRegistry registry) throws InterruptedException {
        return bind(boss, io, address, registry, DataPlaneSecurity.plain());
    }

    public static DataPlaneServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address,
                                       IncomingRegistry registry, DataPlaneSecurity security)
            throws InterruptedException {
        Channel channel = new ServerBootstrap()
                .group(boss, io)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.SO_RCVBUF, 4 << 20)
                .childOption(ChannelOption.TCP_NODELAY, true)   // return-path messages (page requests) go at once
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        PlacingRecvAllocator buffers = new PlacingRecvAllocator();
                        ch.config().setRecvByteBufAllocator(buffers);
                        ch.pipeline().addLast(new IncomingConnectionHandler(registry, security, buffers));
                    }
                })
                .bind(address).sync().channel();
        return new DataPlaneServer(channel);
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
