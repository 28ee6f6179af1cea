package io.ferry.worker;

import io.ferry.channel.WorkerRegistration;
import io.ferry.guest.qemu.QemuGuest;
import io.ferry.guest.qemu.QemuSupport;
import io.ferry.migration.transport.DataPlaneServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import io.ferry.migration.FaultInjector;
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
    private final String datastoreId;
    private final WorkerMetrics metrics;

    private Worker(WorkerConfig config, String datastoreId) throws InterruptedException {
        this.config = config;
        this.datastoreId = datastoreId;
        // a predecessor killed without its shutdown left its QEMUs running; their guests are lost to the control
        // plane. Owned by host and datastore: other Ferry installations on this machine keep theirs.
        String qemuOwner = config.hostId() + "@" + datastoreId;
        for (String orphan : QemuGuest.stopOrphans(qemuOwner)) {
            log.warn("worker {}: stopped QEMU {}, left running by an earlier worker of this host", config.hostId(),
                    orphan);
        }
        QemuSupport qemu = QemuSupport.probe(config.qemuBinary());
        if (qemu.available()) {
            log.info("worker {} runs QEMU guests: {}", config.hostId(), qemu.detail());
        } else {
            log.warn("worker {} cannot run QEMU guests: {}", config.hostId(), qemu.detail());
        }
        this.guests = new GuestHost(config.datastore(), instance, GuestRuntimes.of(config.hostId(), qemuOwner, qemu));
        this.boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.io = new MultiThreadIoEventLoopGroup(0, NioIoHandler.newFactory());
        this.metrics = new WorkerMetrics(config.hostId());
        this.link = new ControlPlaneLink(config, instance, this::registration, guests);
        this.migrations = new Migrations(config.hostId(), guests, io, this::report, link,
                FaultInjector.fromSystemProperty(config.hostId()), config.handoffTimeout(), metrics,
                config.security().dataPlane());
        this.controlServer = ControlChannelServer.bind(boss, io, new InetSocketAddress(config.bind(),
                config.controlPort()), config.token(), config.security().controlChannel(),
                new ControlCommands(config.hostId(), instance, guests, migrations, this), metrics);
        this.dataServer = DataPlaneServer.bind(boss, io, new InetSocketAddress(config.bind(), config.dataPort()),
                migrations, config.security().dataPlane());
    }

    public static Worker start(WorkerConfig config) throws InterruptedException {
        String datastoreId;
        try {
            Files.createDirectories(config.datastore());
            datastoreId = datastoreId(config.datastore());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create datastore " + config.datastore(), e);
        }
        Worker worker = new Worker(config, datastoreId);
        worker.link.start();
        log.info("worker {} (instance {}) up: control channel {}, data plane {} ({}), datastore {}, {} bytes for guests",
                config.hostId(), worker.instance, worker.controlAddress(), worker.dataAddress(), config.security(),
                config.datastore(), config.memoryCapacityBytes());
        return worker;
    }

    /**
     * The datastore's identity: a random id in a marker file, written by the first worker that
     * uses the folder. Workers that see the same marker share their images, wherever it is mounted.
     */
    static String datastoreId(Path datastore) throws IOException {
        Path marker = datastore.resolve(".ferry-datastore-id");
        if (!Files.exists(marker)) {
            Path temp = Files.createTempFile(datastore, ".ferry-datastore-id", ".tmp");
            Files.writeString(temp, UUID.randomUUID().toString());
            try {
                Files.createLink(marker, temp);   // link(2) never replaces: of two racing workers one id wins
            } catch (java.nio.file.FileAlreadyExistsException lost) {
                // another worker's id is there: use it
            } finally {
                Files.deleteIfExists(temp);
            }
        }
        return Files.readString(marker).strip();
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
                config.memoryCapacityBytes(), config.cpus(), datastoreId, guests.reports(), guests.runtimes());
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
