package io.ferry.bench;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.EngineWarmUp;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.migration.transport.CertificateAuthority;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneTls;
import io.netty.buffer.ByteBuf;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-tls}: pre-copy of an idle guest full of random bytes over loopback, plain
 * and over mutual TLS 1.3 with each TLS implementation, in the same run and in alternating
 * rounds (so drift of the machine hits every variant alike), each round in a rotated order (so no
 * variant always follows the same one). For each: the first run (cold: that variant's code paths
 * not yet compiled; the engine itself is warmed up first by a small plain run, else the first
 * variant alone would pay for compiling it) and the median; throughput, and CPU seconds per GiB
 * on each side (source: its migration thread and I/O threads; destination: its I/O threads,
 * where the stream is decrypted and decoded into guest memory) and for the whole process.
 *
 * <p>The destination's guest memory is committed before the clock starts. Its first touch is
 * not the transport's cost, and on a VM whose balloon reports free pages to the host it swings
 * between about 0.1 and 3 s/GiB depending on whether the host still backs the pages, which
 * swamped the difference between the variants; the time it took is reported on its own.
 */
@Command(name = "bench-tls", mixinStandardHelpOptions = true,
        description = "Measure pre-copy over loopback: plain TCP next to TLS 1.3 (OpenSSL and JDK providers).")
public final class TlsBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;
    private static final double GIB = 1 << 30;

    @Option(names = "--size", defaultValue = "1g", description = "Guest memory, e.g. 512m, 1g (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--repeat", defaultValue = "5",
            description = "Runs per variant, in alternating rounds; the first is reported as cold, and the median "
                    + "of all (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--providers", defaultValue = "openssl,jdk", split = ",",
            description = "TLS providers to measure next to plain (default ${DEFAULT-VALUE})")
    List<String> providers;

    @Option(names = "--channels", defaultValue = "1",
            description = "Connections that carry pages: 1 is the stream alone, more are multifd channels, whose TLS "
                    + "is encrypted and decrypted on several event loops (default ${DEFAULT-VALUE})")
    int channels;

    private record Variant(String name, DataPlaneTls.Provider provider) {
        boolean tls() {
            return provider != null;
        }
    }

    /** One run: wall time, CPU nanoseconds per side and for the process, and what the job reported. */
    record Run(double seconds, long sourceCpuNanos, long destinationCpuNanos, long processCpuNanos,
               MigrationPhase phase, MigrationProgress progress, double commitSeconds) {
    }

    @Override
    public Integer call() throws Exception {
        long bytes = PrecopyBenchmark.parseSize(size);
        Path datastore = Files.createTempDirectory("ferry-bench-tls-");
        List<Variant> variants = new ArrayList<>();
        variants.add(new Variant("plain TCP", null));
        for (String p : providers) {
            DataPlaneTls.Provider provider = DataPlaneTls.Provider.parse(p);
            variants.add(new Variant("TLS 1.3, " + provider.name().toLowerCase(Locale.ROOT), provider));
        }
        CertificateAuthority ca = CertificateAuthority.create("ferry-bench-ca", Duration.ofDays(1));
        CertificateAuthority.Issued source = ca.issue("bench-source", Duration.ofDays(1));
        CertificateAuthority.Issued destination = ca.issue("bench-destination", Duration.ofDays(1));
        System.out.printf(Locale.ROOT, "Ferry data-plane TLS benchmark: pre-copy of a %d MiB idle guest of random bytes, "
                        + "loopback, unlimited bandwidth, %d cores, %d channel(s), OpenSSL provider %s%n",
                bytes / MIB, Runtime.getRuntime().availableProcessors(), channels,
                DataPlaneTls.openSslAvailable() ? "available" : "UNAVAILABLE");
        System.out.println("load average at start: " + Machine.loadAverage());
        double rawSeconds = RawTcp.inProcess(bytes);
        System.out.printf(Locale.ROOT, "raw loopback TCP, same bytes: %.2f s, %.0f MiB/s%n%n", rawSeconds,
                bytes / MIB / rawSeconds);

        // plain, as a plain worker's: each TLS variant's first run is its own cold one
        EngineWarmUp.run(datastore, (long) EngineWarmUp.DEFAULT_MIB << 20,
                DataPlaneSecurity.plain());

        Map<Variant, List<Run>> runs = new LinkedHashMap<>();
        variants.forEach(v -> runs.put(v, new ArrayList<>()));
        List<Double> commits = new ArrayList<>();
        for (int round = 0; round < Math.max(1, repeat); round++) {
            for (int k = 0; k < variants.size(); k++) {
                Variant v = variants.get((k + round) % variants.size());
                DataPlaneSecurity src = v.tls() ? DataPlaneSecurity.tls(source.tls(v.provider()))
                        : DataPlaneSecurity.plain();
                DataPlaneSecurity dst = v.tls() ? DataPlaneSecurity.tls(destination.tls(v.provider()))
                        : DataPlaneSecurity.plain();
                Run run = migrate(datastore, bytes, src, dst, channels);
                runs.get(v).add(run);
                commits.add(run.commitSeconds());
                System.out.printf(Locale.ROOT, "  round %d, %-22s %6.2f s %8.0f MiB/s  %s%s  (commit %.2f s)%n",
                        round + 1, v.name(), run.seconds(), bytes / MIB / run.seconds(), run.phase(), cipher(run),
                        run.commitSeconds());
            }
        }

        Run plainMedian = median(runs.get(variants.get(0)));
        String line = "%-22s %-5s %8s %9s %9s %13s %13s %13s%n";
        System.out.printf(Locale.ROOT, "%n" + line, "variant", "run", "time s", "MiB/s", "vs plain", "src CPU s/GiB",
                "dst CPU s/GiB", "proc CPU s/GiB");
        for (Variant v : variants) {
            List<Run> all = runs.get(v);
            print(line, v.name(), "cold", all.get(0), bytes, plainMedian);
            print(line, "", "median", median(all), bytes, plainMedian);
        }
        commits.sort(null);
        System.out.printf(Locale.ROOT, "%ndestination memory committed before each run (not timed): median %.2f s/GiB, "
                        + "range %.2f-%.2f%n", commits.get(commits.size() / 2) / (bytes / GIB),
                commits.get(0) / (bytes / GIB), commits.get(commits.size() - 1) / (bytes / GIB));
        System.out.println("load average at the end: " + Machine.loadAverage() + " (other processes on the machine skew the figures)");
        for (Variant v : variants.subList(1, variants.size())) {
            Run m = median(runs.get(v));
            System.out.printf(Locale.ROOT, "%s: %.0f%% of plain throughput (median)%s%n", v.name(),
                    100 * plainMedian.seconds() / m.seconds(),
                    v.provider() == DataPlaneTls.Provider.OPENSSL ? " (target >= 70%)" : "");
        }
        return 0;
    }

    private static String cipher(Run run) {
        MigrationProgress.DataPlane dp = run.progress() == null ? null : run.progress().dataPlane();
        return dp == null || !dp.tls() ? "" : "  " + dp.protocol() + " " + dp.cipher() + " (" + dp.provider() + ")";
    }

    private static void print(String line, String name, String which, Run r, long bytes, Run plain) {
        double gib = bytes / GIB;
        System.out.printf(Locale.ROOT, line, name, which, f(r.seconds()), f0(bytes / MIB / r.seconds()),
                f(plain.seconds() / r.seconds()), f(r.sourceCpuNanos() / 1e9 / gib),
                f(r.destinationCpuNanos() / 1e9 / gib), f(r.processCpuNanos() / 1e9 / gib));
    }

    private static Run median(List<Run> runs) {
        return Quantiles.median(runs, Comparator.comparingDouble(Run::seconds));
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f0(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static Run migrate(Path datastore, long bytes, DataPlaneSecurity sourceSide,
                               DataPlaneSecurity destinationSide, int channels) throws Exception {
        GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(), List.of(new RamBlockSpec("pc.ram", bytes)),
                List.of(), 4096, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(sourceSide, destinationSide).channels(channels)) {
            GuestContent.fillRandom(source.memory().blocks().get(0), 42);
            source.pause();
            double commitSeconds = commit(destination);
            System.gc();   // the previous run's garbage is not collected on this run's clock
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long sourceIoBefore = cpu(threads, LoopbackMigration.SOURCE_THREADS);
            long destinationBefore = cpu(threads, LoopbackMigration.DESTINATION_THREADS);
            long processBefore = Machine.processCpuNanos();
            long start = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, 0, 300, false, null);
            double seconds = (System.nanoTime() - start) / 1e9;
            long processCpu = Machine.processCpuNanos() - processBefore;
            long sourceCpu = cpu(threads, LoopbackMigration.SOURCE_THREADS) - sourceIoBefore
                    + Math.max(0, loopback.lastSourceThreadCpuNanos());
            long destinationCpu = cpu(threads, LoopbackMigration.DESTINATION_THREADS) - destinationBefore;
            return new Run(seconds, sourceCpu, destinationCpu, processCpu, report.phase(), report.progress(),
                    commitSeconds);
        }
    }

    /** Touches every page of the guest's memory (writing the zeros it holds), so the OS commits it; returns seconds. */
    private static double commit(SyntheticGuest guest) {
        long start = System.nanoTime();
        for (RamBlock block : guest.memory().blocks()) {
            int piece = (int) (MIB / RamBlock.PAGE_SIZE);
            for (long page = 0; page < block.pageCount(); page += piece) {
                ByteBuf view = block.view(page, (int) Math.min(piece, block.pageCount() - page));
                view.setZero(0, view.capacity());
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** CPU time of the live threads whose name starts with {@code prefix}. */
    private static long cpu(ThreadMXBean threads, String prefix) {
        long total = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith(prefix)) {
                long t = threads.getThreadCpuTime(info.getThreadId());
                total += Math.max(0, t);
            }
        }
        return total;
    }

}
