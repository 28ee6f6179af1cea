package io.ferry.migration.loopback;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.StorageMode;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.PageChannels;
import io.ferry.migration.TransferMeter;
import io.ferry.migration.incoming.IncomingMigration;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneServer;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One migration between two guests in this process, over a real loopback data-plane
 * connection: the engine exactly as workers run it, without the control plane (each side wired
 * by {@link LocalSides}). Used by benchmarks and by engine tests.
 */
public final class LoopbackMigration implements AutoCloseable {

    /** Name prefixes of each side's I/O threads, so a benchmark can tell the two sides' CPU time apart. */
    public static final String SOURCE_THREADS = "loopback-source-io";
    public static final String DESTINATION_THREADS = "loopback-destination-io";

    /** The destination's event loops, apart from the source's as on two workers: neither side's I/O waits for the other's. */
    private final EventLoopGroup group = LocalSides.eventLoops(DESTINATION_THREADS);
    private final EventLoopGroup sourceGroup = LocalSides.eventLoops(SOURCE_THREADS);
    /** CPU time of the last run's source migration thread, taken as it ended. */
    private volatile long sourceThreadCpuNanos;
    private final List<MigrationReport> reports = new CopyOnWriteArrayList<>();
    private final ExpectedIncoming registry = new ExpectedIncoming();
    /** The source's migration thread of the last run. */
    private volatile Thread sourceThread;
    private volatile LocalOwnership ownership;
    private final DataPlaneServer server;

    /** The source's data-plane security (the destination's is its server's). */
    private final DataPlaneSecurity sourceSecurity;

    /** Both sides plain, as the embedded set-up. */
    public LoopbackMigration() throws InterruptedException {
        this(DataPlaneSecurity.plain(), DataPlaneSecurity.plain());
    }

    /** With each side's data-plane security, as two workers configured so. */
    public LoopbackMigration(DataPlaneSecurity source, DataPlaneSecurity destination) throws InterruptedException {
        this.sourceSecurity = source;
        server = DataPlaneServer.bind(group, group, new InetSocketAddress("127.0.0.1", 0), registry, destination);
    }

    public String dataAddress() {
        return "127.0.0.1:" + server.port();
    }

    private volatile String route;

    private volatile TransferMeter meter = new TransferMeter();

    /** The source's byte counts of every later run go to {@code meter}, as a worker's do. */
    public void countInto(TransferMeter meter) {
        this.meter = meter;
    }

    /** Without, a broken post-copy link is retried only on {@code recover()} (default: with back-off by itself). */
    public void autoRecover(boolean autoRecover) {
        this.autoRecover = autoRecover;
    }

    private volatile ConvergenceSettings convergence = ConvergenceSettings.NONE;

    /** Later runs use these convergence tools (default: none). */
    public void convergence(ConvergenceSettings convergence) {
        this.convergence = convergence;
    }

    /** The source connects to {@code address} (e.g. a proxy in front of {@link #dataAddress()}) instead. */
    public void routeThrough(String address) {
        this.route = address;
    }

    /** Every report either side made, in order of arrival. */
    public List<MigrationReport> reports() {
        return reports;
    }

    /**
     * Migrates {@code source} into {@code destination} (an incoming guest of the same layout)
     * and waits for the source's final report (null if its migration ended without one, as an
     * abandoned post-copy does). Disks are shared; see {@link #run(SyntheticGuest,
     * SyntheticGuest, long, long, boolean, boolean, Consumer)} to copy them.
     */
    public MigrationReport run(SyntheticGuest source, SyntheticGuest destination, long maxBandwidth,
                               long downtimeLimitMs, boolean verifyChecksums, Consumer<OutgoingMigration> whileRunning)
            throws Exception {
        return run(source, destination, maxBandwidth, downtimeLimitMs, verifyChecksums, false, whileRunning);
    }

    /**
     * As above; with {@code copyImages} the images are streamed too (the destination's must have
     * been created {@link SyntheticGuest.IncomingImages#COPY for a copy}). Disk ids must be UUIDs.
     */
    public MigrationReport run(SyntheticGuest source, SyntheticGuest destination, long maxBandwidth,
                               long downtimeLimitMs, boolean verifyChecksums, boolean copyImages,
                               Consumer<OutgoingMigration> whileRunning) throws Exception {
        return run(source, destination, maxBandwidth, downtimeLimitMs, verifyChecksums, copyImages,
                MigrationSettings.PostcopySettings.OFF, whileRunning);
    }

    /** As above, with the post-copy capability. */
    public MigrationReport run(SyntheticGuest source, SyntheticGuest destination, long maxBandwidth,
                               long downtimeLimitMs, boolean verifyChecksums, boolean copyImages,
                               MigrationSettings.PostcopySettings postcopy, Consumer<OutgoingMigration> whileRunning)
            throws Exception {
        byte[] secret = newSecret();
        return run(source, destination, secret, secret, maxBandwidth, downtimeLimitMs, verifyChecksums, copyImages,
                postcopy, whileRunning);
    }

    /** CPU time the last run's source migration thread used (-1 where the JVM does not measure it). */
    public long lastSourceThreadCpuNanos() {
        return sourceThreadCpuNanos;
    }

    /** The destination's side of the last run (for its post-copy figures). */
    public IncomingMigration lastIncoming() {
        return lastIncoming;
    }

    private volatile IncomingMigration lastIncoming;

    /**
     * Plays the source's worker stopping (as a worker shutdown does: its migration thread is
     * interrupted) and waits for that thread to end.
     */
    public void stopSource() throws InterruptedException {
        Thread thread = sourceThread;
        if (thread != null) {
            thread.interrupt();
            thread.join();
        }
    }

    /** The disks' ownership as the last run left it. */
    public LocalOwnership ownership() {
        return ownership;
    }

    /**
     * Makes the destination expect a stream for {@code jobId} into {@code destination}, with no
     * source started: for tests that play the source themselves.
     */
    public void expectIncoming(UUID jobId, byte[] secret, SyntheticGuest destination) {
        ownership = LocalSides.ownershipOf(destination);
        registry.expect(LocalSides.incoming(jobId, secret, false, false, ownership.generations(),
                PageChannels.MAIN_STREAM, destination,
                reports::add, ownership, (id, ok) -> { }), false);
    }

    /** A source that does not know the job's secret: the destination must refuse it. */
    public MigrationReport runWithWrongSecret(SyntheticGuest source, SyntheticGuest destination) throws Exception {
        return run(source, destination, newSecret(), newSecret(), 0, 300, false, false,
                MigrationSettings.PostcopySettings.OFF, null);
    }

    private static byte[] newSecret() {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        return secret;
    }

    /** Every loopback migration's source runs on this machine: they pause one at a time, as a worker's do. */
    private static final io.ferry.migration.outgoing.PauseGate HOST = new io.ferry.migration.outgoing.PauseGate();

    private volatile boolean autoRecover = true;
    private volatile int channels = 1;

    /** How many connections carry the next runs' pages (1: the main stream; more: multifd channels). */
    public LoopbackMigration channels(int channels) {
        this.channels = channels;
        return this;
    }

    private MigrationReport run(SyntheticGuest source, SyntheticGuest destination, byte[] destinationSecret,
                                byte[] sourceSecret, long maxBandwidth, long downtimeLimitMs, boolean verifyChecksums,
                                boolean copyImages, MigrationSettings.PostcopySettings postcopy,
                                Consumer<OutgoingMigration> whileRunning) throws Exception {
        UUID jobId = UUID.randomUUID();
        CompletableFuture<MigrationReport> outcome = new CompletableFuture<>();   // each run its own: one loopback may run several
        MigrationReporter reporter = report -> {
            reports.add(report);
            if (LocalSides.isFinal(report)) {
                outcome.complete(report);
            }
        };
        LocalOwnership disks = LocalSides.ownershipOf(source);
        ownership = disks;
        Map<String, Long> base = disks.generations();
        MigrationSettings settings = new MigrationSettings(maxBandwidth, downtimeLimitMs, verifyChecksums,
                copyImages ? StorageMode.COPY : StorageMode.SHARED, postcopy, channels, convergence);
        // the destination takes the pages as the source sends them, as the control plane tells both
        IncomingMigration incoming = LocalSides.incoming(jobId, destinationSecret, verifyChecksums, copyImages, base,
                PageChannels.of(settings), destination, reporter, disks, (id, ok) -> { });
        lastIncoming = incoming;
        registry.expect(incoming, true);
        OutgoingMigration migration = LocalSides.outgoing(jobId, route != null ? route : dataAddress(), sourceSecret,
                base, settings, autoRecover, source, sourceGroup, reporter, disks,
                (id, ok) -> outcome.complete(null));   // no final report: an abandoned post-copy
        migration.countInto(meter);
        migration.pauseThrough(HOST);
        migration.secureWith(sourceSecurity);
        Thread thread = new Thread(() -> {
            try {
                migration.run();
            } finally {
                sourceThreadCpuNanos = java.lang.management.ManagementFactory.getThreadMXBean()
                        .getCurrentThreadCpuTime();
            }
        }, "migration-" + jobId);
        sourceThread = thread;
        thread.start();
        if (whileRunning != null) {
            whileRunning.accept(migration);
        }
        MigrationReport last = outcome.get(10, TimeUnit.MINUTES);
        thread.join();
        return last;
    }

    @Override
    public void close() {
        server.close();
        sourceGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
