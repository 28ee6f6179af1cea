package io.ferry.migration.transport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
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
    /** Post-copy's fault path: one thread of its own for the preempt channels of this worker's incoming migrations. */
    private final EventLoopGroup faultPath;

    private DataPlaneServer(Channel channel, EventLoopGroup faultPath) {
        this.channel = channel;
        this.faultPath = faultPath;
    }

    public static DataPlaneServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address,
                                       IncomingRegistry registry) throws InterruptedException {
        return bind(boss, io, address, registry, DataPlaneSecurity.plain());
    }

    public static DataPlaneServer bind(EventLoopGroup boss, EventLoopGroup io, InetSocketAddress address,
                                       IncomingRegistry registry, DataPlaneSecurity security)
            throws InterruptedException {
        EventLoopGroup faultPath = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("postcopy-fault-path", true), NioIoHandler.newFactory());
        EventLoop faultLoop = faultPath.next();
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
                        ch.pipeline().addLast(new IncomingConnectionHandler(registry, security, buffers, faultLoop));
                    }
                })
                .bind(address).sync().channel();
        return new DataPlaneServer(channel, faultPath);
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        faultPath.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }
}
