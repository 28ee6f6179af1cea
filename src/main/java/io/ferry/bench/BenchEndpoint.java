package io.ferry.bench;

import io.ferry.channel.MigrationReport;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.CompressionMethod;
import io.ferry.channel.StorageMode;
import io.ferry.guest.GuestMemory;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.PageChannels;
import io.ferry.migration.incoming.IncomingMigration;
import io.ferry.migration.loopback.EngineWarmUp;
import io.ferry.migration.loopback.ExpectedIncoming;
import io.ferry.migration.loopback.LocalOwnership;
import io.ferry.migration.loopback.LocalSides;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneServer;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry bench-endpoint ROLE}: one side of a {@code ferry bench} run in a JVM of its own,
 * driven by the benchmark through lines on stdin and answering by lines on stdout (every other
 * output, logging included, goes to stderr). Figures are {@code key=value} words; CPU time is
 * this whole process's (user and system), measured over the transfer only.
 *
 * <ul>
 * <li>{@code destination}: reads {@code expect <jobId> <secretBase64>}, creates an incoming guest
 *     of {@code --bytes}, listens on 127.0.0.1 (any port) for that one job and says
 *     {@code ready <port>}; when the migration ends, {@code result ok=… seconds=… cpuNanos=…
 *     sha256=…} (seconds and CPU from the source's connection to the end; the memory's digest
 *     after), then exits.</li>
 * <li>{@code source}: creates the guest, fills it with seeded random bytes (or leaves it zero),
 *     pauses it unless it is to dirty memory, says {@code ready}; then for each
 *     {@code go <host:port> <jobId> <secretBase64>} runs the pre-copy to its end and says
 *     {@code result phase=… seconds=… cpuNanos=… downtimeMs=… iterations=… transferred=… reason=…},
 *     then {@code checksum sha256=…} of its memory; {@code quit} or the end of stdin ends it.</li>
 * <li>{@code raw-receiver} / {@code raw-sender}: the baseline ({@link RawTcp}); the receiver says
 *     {@code ready <port>}, the sender {@code ready}, then on {@code go <host:port>}
 *     {@code result seconds=… cpuNanos=…}; the receiver {@code result cpuNanos=…} once it has
 *     the bytes.</li>
 * </ul>
 * An endpoint that cannot go on says {@code error <why>} and exits non-zero.
 */
@Command(name = "bench-endpoint", hidden = true,
        description = "One side of a `ferry bench` run, driven by lines on stdin and stdout.")
public final class BenchEndpoint implements Callable<Integer> {

    static final String DESTINATION = "destination";
    static final String SOURCE = "source";
    static final String RAW_RECEIVER = "raw-receiver";
    static final String RAW_SENDER = "raw-sender";
    /** The device-state blob of the benchmark's guests. */
    private static final int DEVICE_STATE_BYTES = 4096;

    @Parameters(index = "0", description = "destination, source, raw-receiver or raw-sender")
    String role;

    @Option(names = "--bytes", required = true, description = "Guest memory, or the bytes the raw baseline sends")
    long bytes;

    @Option(names = "--guest-id", description = "The guest's id (a UUID; the same on both sides)")
    String guestId;

    @Option(names = "--content", defaultValue = "random", description = "Source: random (seeded) or zero")
    String content;

    @Option(names = "--seed", defaultValue = "42", description = "Source: seed of the random content")
    long seed;

    @Option(names = "--dirty-pages-per-second", defaultValue = "0",
            description = "Source: the guest keeps dirtying memory at this rate (0: it is paused)")
    long dirtyPagesPerSecond;

    @Option(names = "--channels", defaultValue = "1", description = "Both: connections that carry pages")
    int channels;

    @Option(names = "--downtime-limit-ms", defaultValue = "300", description = "Source: the pause's limit")
    long downtimeLimitMs;

    @Option(names = "--warm-up-mib", defaultValue = "" + EngineWarmUp.DEFAULT_MIB,
            description = "Source and destination: the engine's warm-up migration before saying ready, as a worker "
                    + "runs before it registers (0: none)")
    int warmUpMib;

    @Option(names = "--memory",
            description = "raw-sender and raw-receiver: from a random-filled RAM block of --bytes into a pre-faulted "
                    + "one (the memory traffic of a migration), not from and into one 1 MiB buffer")
    boolean memory;

    private PrintStream protocol;
    private BufferedReader in;

    @Override
    public Integer call() throws Exception {
        // stdout is the benchmark's: anything else that writes there (logging, libraries) goes to stderr
        protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            if ((role.equals(DESTINATION) || role.equals(SOURCE)) && warmUpMib > 0) {
                EngineWarmUp.run(Path.of(System.getProperty("java.io.tmpdir")), warmUpMib * (1L << 20),
                        DataPlaneSecurity.plain());
            }
            return switch (role) {
                case DESTINATION -> destination();
                case SOURCE -> source();
                case RAW_RECEIVER -> rawReceiver();
                case RAW_SENDER -> rawSender();
                default -> throw new IllegalArgumentException("unknown role " + role);
            };
        } catch (Exception | Error e) {
            e.printStackTrace();
            say("error " + String.valueOf(e).replace('\n', ' '));
            return 1;
        }
    }

    private void say(String line) {
        protocol.println(line);
    }

    /** The next line from the benchmark, split in words; the first must be {@code word}, with {@code count} words in all. */
    private String[] read(String word, int count) throws IOException {
        String line = in.readLine();
        if (line == null) {
            throw new IOException("stdin ended while waiting for '" + word + "'");
        }
        String[] words = line.strip().split(" ");
        if (!words[0].equals(word) || words.length != count) {
            throw new IllegalArgumentException("expected '" + word + "' and " + (count - 1) + " words, got: " + line);
        }
        return words;
    }

    private GuestSpec guestSpec(WorkloadSpec workload) {
        UUID.fromString(guestId);   // a guest's id is a UUID
        return new GuestSpec(guestId, List.of(new RamBlockSpec("pc.ram", bytes)), List.of(), DEVICE_STATE_BYTES,
                workload);
    }

    private int destination() throws Exception {
        String[] expect = read("expect", 3);
        UUID jobId = UUID.fromString(expect[1]);
        byte[] secret = Base64.getDecoder().decode(expect[2]);
        Path datastore = Files.createTempDirectory("ferry-bench-destination-");
        EventLoopGroup group = LocalSides.eventLoops(LoopbackMigration.DESTINATION_THREADS);
        // its workload idle: once the guest runs here nothing changes its memory before the digest
        try (SyntheticGuest guest = SyntheticGuest.createIncoming(guestSpec(WorkloadSpec.idle()), datastore,
                SyntheticGuest.IncomingImages.SHARED)) {
            LocalOwnership ownership = LocalSides.ownershipOf(guest);
            CompletableFuture<Boolean> done = new CompletableFuture<>();
            IncomingMigration migration = LocalSides.incoming(jobId, secret, false, false, ownership.generations(),
                    new PageChannels(channels, CompressionMethod.NONE), guest, report -> { }, ownership, (id, ok) -> done.complete(ok));
            // as a destination QEMU with -mem-prealloc: ready once its memory is (the time is reported apart)
            long preparing = System.nanoTime();
            guest.memory().prefaultDone().get();
            long preparedMs = (System.nanoTime() - preparing) / 1_000_000;
            long[] start = new long[2];   // CPU and wall clock when the source's stream attached
            ExpectedIncoming registry = new ExpectedIncoming(attached -> {
                synchronized (start) {
                    start[0] = Machine.processCpuNanos();
                    start[1] = System.nanoTime();
                }
            });
            registry.expect(migration, true);
            try (DataPlaneServer server = DataPlaneServer.bind(group, group, new InetSocketAddress("127.0.0.1", 0),
                    registry)) {
                say("ready " + server.port() + " " + preparedMs);
                whenStdinEnds(() -> done.completeExceptionally(
                        new IOException("stdin ended before the migration did")));
                boolean ok = done.get();
                long cpuNanos;
                double seconds;
                synchronized (start) {
                    cpuNanos = Machine.processCpuNanos() - start[0];
                    seconds = (System.nanoTime() - start[1]) / 1e9;
                }
                String sha256 = ok ? guest.checksums().memory() : "-";
                say(String.format(Locale.ROOT, "result ok=%s seconds=%.6f cpuNanos=%d sha256=%s", ok, seconds,
                        cpuNanos, sha256));
                return 0;
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            LocalControlPlane.deleteTree(datastore);
        }
    }

    /**
     * Runs {@code end} once stdin ends: the benchmark went away (or closed it) while this side
     * waits for the other, so it must not wait on, holding its guest.
     */
    private void whenStdinEnds(Runnable end) {
        Thread watcher = new Thread(() -> {
            try {
                while (in.readLine() != null) {
                    // nothing more is expected
                }
            } catch (IOException e) {
                // as its end
            }
            end.run();
        }, "stdin-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private int source() throws Exception {
        boolean idle = dirtyPagesPerSecond == 0;
        WorkloadSpec workload = idle ? WorkloadSpec.idle() : new WorkloadSpec(dirtyPagesPerSecond, 1.0, 0, 7);
        Path datastore = Files.createTempDirectory("ferry-bench-source-");
        EventLoopGroup group = LocalSides.eventLoops(LoopbackMigration.SOURCE_THREADS);
        try (SyntheticGuest guest = SyntheticGuest.create(guestSpec(workload), datastore)) {
            switch (content) {
                case "random" -> GuestContent.fillRandom(guest.memory().blocks().get(0), seed);
                case "zero" -> { }
                default -> throw new IllegalArgumentException("--content is random or zero, not " + content);
            }
            if (idle) {
                guest.pause();
            }
            String idleChecksum = idle ? guest.checksums().memory() : null;   // nothing changes it
            say("ready");
            for (String line; (line = in.readLine()) != null; ) {
                String[] words = line.strip().split(" ");
                if (words[0].equals("quit")) {
                    break;
                }
                if (!words[0].equals("go") || words.length != 4) {
                    throw new IllegalArgumentException("expected 'go <host:port> <jobId> <secret>', got: " + line);
                }
                if (!idle && guest.state() == GuestState.PAUSED) {
                    guest.resume();   // a migration before left it stopped, as QEMU's postmigrate
                }
                say(migrate(guest, group, words[1], UUID.fromString(words[2]), Base64.getDecoder().decode(words[3])));
                say("checksum sha256=" + (idle ? idleChecksum : guest.checksums().memory()));
            }
            return 0;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            LocalControlPlane.deleteTree(datastore);
        }
    }

    /** One pre-copy of {@code guest} to {@code address}, on a thread of its own as a worker runs it; its result line. */
    private String migrate(SyntheticGuest guest, EventLoopGroup group, String address, UUID jobId, byte[] secret)
            throws InterruptedException {
        AtomicReference<MigrationReport> last = new AtomicReference<>();
        MigrationReporter reporter = report -> {
            if (LocalSides.isFinal(report)) {
                last.set(report);
            }
        };
        LocalOwnership ownership = LocalSides.ownershipOf(guest);
        MigrationSettings settings = new MigrationSettings(0, downtimeLimitMs, false, StorageMode.SHARED,
                MigrationSettings.PostcopySettings.OFF, channels, ConvergenceSettings.NONE);
        OutgoingMigration migration = LocalSides.outgoing(jobId, address, secret, ownership.generations(), settings,
                false, guest, group, reporter, ownership, (id, handedOver) -> { });
        long cpu = Machine.processCpuNanos();
        long start = System.nanoTime();
        Thread thread = new Thread(migration, "migration-" + jobId);
        thread.start();
        thread.join();
        double seconds = (System.nanoTime() - start) / 1e9;
        long cpuNanos = Machine.processCpuNanos() - cpu;
        MigrationReport report = last.get();
        if (report == null) {
            return String.format(Locale.ROOT, "result phase=NONE seconds=%.6f cpuNanos=%d reason=no final report",
                    seconds, cpuNanos);
        }
        Long downtime = report.progress().downtimeMs();
        return String.format(Locale.ROOT,
                "result phase=%s seconds=%.6f cpuNanos=%d downtimeMs=%d iterations=%d transferred=%d reason=%s",
                report.phase(), seconds, cpuNanos, downtime == null ? -1 : downtime,
                report.progress().ram().iterations(), report.progress().ram().transferred(),
                report.reason() == null ? "" : report.reason().replace('\n', ' '));
    }

    private int rawReceiver() throws Exception {
        GuestMemory block = rawBlock();
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            say("ready " + ((InetSocketAddress) server.getLocalAddress()).getPort());
            whenStdinEnds(() -> {
                try {
                    server.close();   // ends a wait for the sender
                } catch (IOException e) {
                    // closing anyway
                }
            });
            try (SocketChannel connection = server.accept()) {
                long cpu = Machine.processCpuNanos();
                if (block != null) {
                    RawTcp.receiveBlock(connection, block.blocks().get(0));
                } else {
                    RawTcp.receive(connection, bytes);
                }
                say("result cpuNanos=" + (Machine.processCpuNanos() - cpu));
            }
        } finally {
            if (block != null) {
                block.close();
            }
        }
        return 0;
    }

    /** The raw baseline's RAM block (with {@code --memory}): as a migration's guest memory, or null. */
    private GuestMemory rawBlock() throws Exception {
        if (!memory) {
            return null;
        }
        GuestMemory block = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", bytes)));
        if (role.equals(RAW_SENDER)) {
            GuestContent.fillRandom(block.blocks().get(0), seed);
        } else {
            block.prefaultInBackground("raw");   // as a destination guest's memory, ready before the bytes come
            block.prefaultDone().get();
        }
        return block;
    }

    private int rawSender() throws Exception {
        try (GuestMemory block = rawBlock()) {
            say("ready");
            String[] go = read("go", 2);
            int colon = go[1].lastIndexOf(':');
            InetSocketAddress receiver = new InetSocketAddress(go[1].substring(0, colon),
                    Integer.parseInt(go[1].substring(colon + 1)));
            long cpu = Machine.processCpuNanos();
            double seconds = block != null ? RawTcp.sendBlock(receiver, block.blocks().get(0))
                    : RawTcp.send(receiver, bytes);
            say(String.format(Locale.ROOT, "result seconds=%.6f cpuNanos=%d", seconds,
                    Machine.processCpuNanos() - cpu));
        }
        return 0;
    }
}
