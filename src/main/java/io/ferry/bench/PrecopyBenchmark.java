package io.ferry.bench;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench}: pre-copy over loopback against raw loopback TCP measured in the same run.
 * (a) an idle guest full of random bytes, (b) the same size all zero, (c) a guest that keeps
 * dirtying memory at a share of the bandwidth measured in (a).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure pre-copy migration over loopback next to raw loopback TCP.")
public final class PrecopyBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;

    @Option(names = "--size", defaultValue = "1g", description = "Guest memory, e.g. 512m, 1g, 4g (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--dirty-share", defaultValue = "0.2",
            description = "Case (c): dirty rate as a share of the bandwidth measured in (a) (default ${DEFAULT-VALUE})")
    double dirtyShare;

    @Option(names = "--downtime-limit-ms", defaultValue = "300", description = "Case (c) downtime limit (default ${DEFAULT-VALUE})")
    long downtimeLimitMs;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Runs per case; the table shows the median run (default ${DEFAULT-VALUE})")
    int repeat;

    @Override
    public Integer call() throws Exception {
        long bytes = parseSize(size);
        Path datastore = Files.createTempDirectory("ferry-bench-");
        System.out.printf(Locale.ROOT, "Ferry pre-copy benchmark, %d MiB guest, loopback, unlimited bandwidth, %d cores%n%n",
                bytes / MIB, Runtime.getRuntime().availableProcessors());

        // Warm-up: let the JIT compile both ends' hot paths before anything is timed.
        rawTcp(bytes);
        migrate(datastore, 128 * MIB, Content.RANDOM, 0, 0);
        migrate(datastore, 128 * MIB, Content.ZERO, 0, 0);
        double rawSeconds = median(() -> new Result(rawTcp(bytes), MigrationPhase.COMPLETED, null)).seconds();
        Result random = median(() -> migrate(datastore, bytes, Content.RANDOM, 0, 0));
        Result zero = median(() -> migrate(datastore, bytes, Content.ZERO, 0, 0));
        double bandwidth = bytes / random.seconds();           // bytes/s achieved in (a)
        long dirtyPages = (long) (bandwidth * dirtyShare / 4096);
        Result dirty = median(() -> migrate(datastore, bytes, Content.RANDOM, dirtyPages, downtimeLimitMs));
        System.out.printf(Locale.ROOT, "median of %d runs per case; all runs, in seconds:%n%s%n", repeat, runs);

        String line = "%-44s %10s %12s %10s %11s %10s%n";
        System.out.printf(Locale.ROOT, line, "case", "time s", "MiB/s", "vs raw", "iterations", "downtime");
        System.out.printf(Locale.ROOT, line, "raw loopback TCP, same bytes", f(rawSeconds), f(bytes / MIB / rawSeconds),
                "1.00", "-", "-");
        print(line, "(a) idle guest, random memory", bytes, rawSeconds, random);
        print(line, "(b) idle guest, all zero", bytes, rawSeconds, zero);
        print(line, String.format(Locale.ROOT, "(c) dirtying %d pages/s (%.0f%% of (a))", dirtyPages, dirtyShare * 100),
                bytes, rawSeconds, dirty);
        System.out.printf(Locale.ROOT, "%n(a) reached %.0f%% of raw loopback TCP (target >= 80%%)%n",
                100 * rawSeconds / random.seconds());
        System.out.printf(Locale.ROOT, "(b) was %.1fx faster than (a) (target >= 5x)%n", random.seconds() / zero.seconds());
        System.out.printf(Locale.ROOT, "(c) downtime %d ms against a limit of %d ms: %s; status %s%n",
                dirty.progress().downtimeMs(), downtimeLimitMs,
                dirty.progress().downtimeMs() != null && dirty.progress().downtimeMs() <= downtimeLimitMs
                        ? "within" : "OVER", dirty.phase());
        return 0;
    }

    private final StringBuilder runs = new StringBuilder();

    private interface Run {
        Result run() throws Exception;
    }

    /** Runs a case {@link #repeat} times and keeps the median run: one slow run (page compaction, GC) does not decide. */
    private Result median(Run run) throws Exception {
        java.util.List<Result> results = new java.util.ArrayList<>();
        for (int i = 0; i < Math.max(1, repeat); i++) {
            results.add(run.run());
        }
        runs.append("  ").append(results.stream().map(r -> f(r.seconds())).toList()).append('\n');
        results.sort(java.util.Comparator.comparingDouble(Result::seconds));
        return results.get(results.size() / 2);
    }

    private static void print(String line, String name, long bytes, double rawSeconds, Result r) {
        System.out.printf(Locale.ROOT, line, name + (r.phase().equals(MigrationPhase.COMPLETED) ? "" : " [" + r.phase() + "]"),
                f(r.seconds()), f(bytes / MIB / r.seconds()), f(rawSeconds / r.seconds()),
                r.progress().ram().iterations(), r.progress().downtimeMs() + " ms");
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private enum Content { RANDOM, ZERO }

    private record Result(double seconds, MigrationPhase phase, MigrationProgress progress) {
    }

    private static Result migrate(Path datastore, long bytes, Content content, long dirtyPagesPerSecond,
                                  long downtimeLimitMs) throws Exception {
        String id = UUID.randomUUID().toString();
        GuestSpec spec = new GuestSpec(id, List.of(new RamBlockSpec("pc.ram", bytes)), List.of(), 4096,
                dirtyPagesPerSecond == 0 ? WorkloadSpec.idle() : new WorkloadSpec(dirtyPagesPerSecond, 1.0, 0, 7));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore, SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            if (content == Content.RANDOM) {
                fillRandom(source.memory().blocks().get(0));
            }
            if (dirtyPagesPerSecond == 0) {
                source.pause();
            }
            long start = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, 0,
                    downtimeLimitMs == 0 ? 300 : downtimeLimitMs, false, null);
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(seconds, report.phase(), report.progress());
        }
    }

    static void fillRandom(RamBlock block) {
        SplittableRandom random = new SplittableRandom(42);
        ByteBuf page = Unpooled.directBuffer(4096);
        try {
            for (long p = 0; p < block.pageCount(); p++) {
                page.clear();
                for (int i = 0; i < 4096; i += 8) {
                    page.writeLong(random.nextLong());
                }
                block.writePage(p, page);
            }
        } finally {
            page.release();
        }
    }

    /** The baseline: the same number of bytes through a plain loopback socket, sender and receiver threads. */
    static double rawTcp(long bytes) throws IOException, InterruptedException {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            Thread receiver = new Thread(() -> {
                try (SocketChannel in = server.accept()) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
                    long left = bytes;
                    while (left > 0) {
                        buffer.clear();
                        int n = in.read(buffer);
                        if (n < 0) {
                            break;
                        }
                        left -= n;
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }, "raw-receiver");
            receiver.start();
            long start = System.nanoTime();
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
                long left = bytes;
                while (left > 0) {
                    buffer.clear().limit((int) Math.min(buffer.capacity(), left));
                    left -= out.write(buffer);
                }
            }
            receiver.join();
            return (System.nanoTime() - start) / 1e9;
        }
    }

    static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unit = t.endsWith("g") ? 1L << 30 : t.endsWith("m") ? MIB : t.endsWith("k") ? 1024 : 1;
        String digits = Character.isDigit(t.charAt(t.length() - 1)) ? t : t.substring(0, t.length() - 1);
        long value = Long.parseLong(digits) * unit;
        if (value < 16 * MIB || value % 4096 != 0) {
            throw new IllegalArgumentException("--size must be at least 16m and a multiple of 4 KiB");
        }
        return value;
    }
}
