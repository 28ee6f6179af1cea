package io.ferry.worker;

import io.ferry.channel.WorkerRegistration;
import io.ferry.migration.transport.DataPlaneServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker process: the guests it hosts, its control-channel server, its data-plane server
 * and its link to the control plane. Losing the control plane does not stop anything here; the
 * link keeps trying and registers again when the control plane is back.
 */
public final class Worker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    private final WorkerConfig config;
    private final String instance = UUID.randomUUID().toString();
    private final GuestHost guests;
    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private final ControlChannelServer controlServer;
    private final DataPlaneServer dataServer;
    private final ControlPlaneLink link;
    private final Migrations migrations;

    private Worker(WorkerConfig config) throws InterruptedException {
        this.config = config;
        this.guests = new GuestHost(config.datastore(), instance);
        this.boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.io = new MultiThreadIoEventLoopGroup(0, NioIoHandler.newFactory());
        this.link = new ControlPlaneLink(config, instance, this::registration, guests);
        this.migrations = new Migrations(guests, io, this::report);
        this.controlServer = ControlChannelServer.bind(boss, io, new InetSocketAddress(config.bind(),
                config.controlPort()), config.token(), new ControlCommands(config.hostId(), instance, guests,
                migrations, this));
        this.dataServer = DataPlaneServer.bind(boss, io, new InetSocketAddress(config.bind(), config.dataPort()),
                migrations);
    }

    public static Worker start(WorkerConfig config) throws InterruptedException {
        try {
            Files.createDirectories(config.datastore());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create datastore " + config.datastore(), e);
        }
        Worker worker = new Worker(config);
        worker.link.start();
        log.info("worker {} (instance {}) up: control channel {}, data plane {}, datastore {}, {} bytes for guests",
                config.hostId(), worker.instance, worker.controlAddress(), worker.dataAddress(), config.datastore(),
                config.memoryCapacityBytes());
        return worker;
    }

    public String controlAddress() {
        return config.advertiseAddress() + ":" + controlServer.port();
    }

    public String dataAddress() {
        return config.advertiseAddress() + ":" + dataServer.port();
    }

    public String instance() {
        return instance;
    }

    /** Reports go to the control plane; one it answers "that job has ended" stops the local migration. */
    private void report(io.ferry.channel.MigrationReport report) {
        link.report(report, jobId -> {
            log.warn("control plane says job {} has ended; stopping it here", jobId);
            migrations.cancel(jobId);
        });
    }

    WorkerRegistration registration() {
        return new WorkerRegistration(instance, controlAddress(), dataAddress(),
                config.memoryCapacityBytes(), config.cpus(), guests.reports());
    }

    @Override
    public void close() {
        log.info("worker {} stopping", config.hostId());
        link.close();
        controlServer.close();
        dataServer.close();
        migrations.shutdown();
        // connections end before guest memory is freed: nothing may write into it afterwards
        io.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        guests.close();
    }
}
