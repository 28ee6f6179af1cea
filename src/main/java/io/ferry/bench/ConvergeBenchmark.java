package io.ferry.bench;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.MigrationSettings;
import io.ferry.guest.DirtyRateSampler;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.migration.outgoing.OutgoingMigration;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-converge}: the convergence tools against plain pre-copy, in the same run, on
 * a link held to {@code --link} by maxBandwidth (loopback, both sides in this process).
 * <ol>
 *   <li>A busy guest: random memory, a hot set of {@code --hot-set}, writing {@code --dirty-factor}
 *       times what the link carries (64 bytes a write, as the synthetic workload writes). Plain
 *       pre-copy (stopped after {@code --precopy-limit-s}), auto-converge, XBZRLE and post-copy:
 *       total time, downtime, bytes sent, rounds, how long the guest ran throttled.</li>
 *   <li>Compressible memory (text-like pages, the guest paused): no compression, zstd and lz4 at
 *       two levels each: total time, bytes on the wire, CPU seconds per GiB on each side (the
 *       source's migration and I/O threads, the destination's I/O threads).</li>
 *   <li>The dirty-rate measurement of the busy guest (both modes) next to what its workload was
 *       asked for and what it really wrote.</li>
 * </ol>
 */
@Command(name = "bench-converge", mixinStandardHelpOptions = true,
        description = "Compare auto-converge, XBZRLE, compression and post-copy with plain pre-copy.")
public final class ConvergeBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;
    private static final double GIB = 1L << 30;
    private static final int PAGE = 4096;

    @Option(names = "--size", defaultValue = "1g", description = "Busy guest's memory (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--link-bits", defaultValue = "1000000000",
            description = "The link, bits/s, held by maxBandwidth (default ${DEFAULT-VALUE}: 1 Gbit/s)")
    long linkBits;

    @Option(names = "--hot-set", defaultValue = "0.1", description = "Busy guest's hot set (default ${DEFAULT-VALUE})")
    double hotSet;

    @Option(names = "--dirty-factor", defaultValue = "1.5",
            description = "Busy guest's writes per second × 4 KiB, over the link (default ${DEFAULT-VALUE})")
    double dirtyFactor;

    @Option(names = "--precopy-limit-s", defaultValue = "30",
            description = "How long plain pre-copy may try before it is cancelled (default ${DEFAULT-VALUE})")
    int precopyLimitSeconds;

    @Option(names = "--xbzrle-cache", defaultValue = "128m",
            description = "XBZRLE cache (default ${DEFAULT-VALUE}: above the hot set of a 1 GiB guest)")
    String xbzrleCache;

    @Option(names = "--compress-size", defaultValue = "512m",
            description = "Compressible guest's memory (default ${DEFAULT-VALUE})")
    String compressSize;

    @Option(names = "--channels", defaultValue = "2", description = "Channels of the compression runs (default ${DEFAULT-VALUE})")
    int channels;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Runs per case, each with a new pair of guests; the first (cold) is reported next to the "
                    + "median (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--only", description = "busy, compression or dirty-rate: that part alone")
    String only;

    private Path datastore;

    @Override
    public Integer call() throws Exception {
        datastore = Files.createTempDirectory("ferry-bench-converge-");
        long link = linkBits / 8;
        System.out.printf(Locale.ROOT, "Ferry convergence benchmark, loopback, link held to %.2f Gbit/s "
                + "(%.1f MiB/s), %d cores%n%n", linkBits / 1e9, link / (double) MIB,
                Runtime.getRuntime().availableProcessors());
        try {
            if (only == null || only.equals("busy")) {
                busyGuest(link);
            }
            if (only == null || only.equals("compression")) {
                compression(link);
            }
            if (only == null || only.equals("dirty-rate")) {
                dirtyRate(link);
            }
        } finally {
            LocalControlPlane.deleteTree(datastore);
        }
        return 0;
    }

    private long busyPagesPerSecond(long link) {
        return Math.round(dirtyFactor * link / PAGE);
    }

    private GuestSpec busySpec(long link) {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", PrecopyBenchmark.parseSize(size))), List.of(), 4096,
                new WorkloadSpec(busyPagesPerSecond(link), hotSet, 0, 5));
    }

    // ---- 1. a guest that dirties faster than its link ----

    private void busyGuest(long link) throws Exception {
        long writes = busyPagesPerSecond(link);
        GuestSpec spec = busySpec(link);
        System.out.printf(Locale.ROOT, "1. busy guest: %d MiB random memory, hot set %.0f %% (%d MiB), %d writes/s "
                        + "of 64 bytes into distinct pages (%.1f× the link in pages), downtime limit 300 ms%n",
                PrecopyBenchmark.parseSize(size) / MIB, hotSet * 100, Math.round(PrecopyBenchmark.parseSize(size)
                        * hotSet / MIB), writes, dirtyFactor);
        System.out.printf(Locale.ROOT, "   %-34s %-10s %8s %9s %10s %7s %12s %9s%n", "run", "outcome", "total s",
                "downtime", "sent MiB", "rounds", "throttled s", "writes/s");
        ConvergenceSettings xbzrle = new ConvergenceSettings(ConvergenceSettings.AutoConverge.OFF,
                new ConvergenceSettings.Xbzrle(true, PrecopyBenchmark.parseSize(xbzrleCache)),
                ConvergenceSettings.Compression.NONE);
        busyCase("plain pre-copy (stopped)", spec, link, ConvergenceSettings.NONE,
                MigrationSettings.PostcopySettings.OFF, migration -> {
                    sleepSeconds(precopyLimitSeconds);
                    migration.cancel();
                });
        busyCase("auto-converge (20/10/99 %)", spec, link,
                ConvergenceSettings.NONE.withAutoConverge(ConvergenceSettings.AutoConverge.ON),
                MigrationSettings.PostcopySettings.OFF, null);
        Busy encoded = busyCase("XBZRLE (cache " + xbzrleCache + ")", spec, link, xbzrle,
                MigrationSettings.PostcopySettings.OFF, null);
        Busy postcopy = busyCase("post-copy after 2 rounds", spec, link, ConvergenceSettings.NONE,
                new MigrationSettings.PostcopySettings(true, 2, false, 0), null);
        MigrationProgress.Xbzrle x = encoded.progress().convergence() == null ? null
                : encoded.progress().convergence().xbzrle();
        if (x != null) {
            // QEMU's rates are per period, and the last period (the switchover) is empty: the whole run's instead
            System.out.printf(Locale.ROOT, "   XBZRLE, run 1: %d cache hits sent in %.1f MiB (%.1f MiB saved; %.1f page "
                            + "bytes per byte sent), %d cache misses, %d overflows%n", x.pages(),
                    x.bytes() / (double) MIB, x.bytesSaved() / (double) MIB,
                    x.bytes() == 0 ? 0 : x.pages() * (double) PAGE / x.bytes(), x.cacheMiss(), x.overflow());
        }
        if (postcopy.report().progress().postcopy() != null) {
            MigrationProgress.FaultLatency f = MigrationProgress.FaultLatency.of(postcopy.faults());
            System.out.printf(Locale.ROOT, "   post-copy, run 1: %d page faults on the destination, p50 %s ms, p99 %s ms%n",
                    f.faults(), f.p50Ms(), f.p99Ms());
        }
        System.out.println();
    }

    /** {@code repeat} runs of one case, a row each (the first is a cold one) and the median; returns the first. */
    private Busy busyCase(String what, GuestSpec spec, long link, ConvergenceSettings convergence,
                          MigrationSettings.PostcopySettings postcopy, Consumer<OutgoingMigration> whileRunning)
            throws Exception {
        List<Double> seconds = new ArrayList<>();
        Busy first = null;
        for (int run = 1; run <= repeat; run++) {
            Busy busy = busyRun(spec, link, convergence, postcopy, whileRunning);
            print(what + (run == 1 ? ", run 1" : ", run " + run), busy);
            seconds.add(busy.seconds());
            first = first == null ? busy : first;
        }
        if (repeat > 1) {
            System.out.printf(Locale.ROOT, "   %-34s %-10s %8.2f%n", what + ", median", "",
                    Quantiles.median(seconds, java.util.Comparator.naturalOrder()));
        }
        return first;
    }

    private record Busy(MigrationReport report, double seconds, double writesPerSecond, long[] faults) {
        MigrationProgress progress() {
            return report.progress();
        }
    }

    private Busy busyRun(GuestSpec spec, long link, ConvergenceSettings convergence,
                         MigrationSettings.PostcopySettings postcopy, Consumer<OutgoingMigration> whileRunning)
            throws Exception {
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            source.quiesced(() -> {
                source.memory().blocks().forEach(b -> GuestContent.fillRandom(b, 42));
                return null;
            });
            loopback.convergence(convergence);
            long writes = source.memoryWrites();
            long start = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, link, 300, false, false, postcopy,
                    whileRunning);
            double seconds = (System.nanoTime() - start) / 1e9;
            // byte-exactness is the engine tests' (each tool migrates a writing guest checked on bytes)
            return new Busy(report, seconds, (source.memoryWrites() - writes) / seconds,
                    loopback.lastIncoming().faultLatencies());
        }
    }

    private static void print(String what, Busy run) {
        MigrationProgress p = run.progress();
        MigrationProgress.Throttle throttle = p.convergence() == null ? null : p.convergence().throttle();
        System.out.printf(Locale.ROOT, "   %-34s %-10s %8.2f %9s %10.1f %7d %12s %9.0f%n", what,
                run.report().phase().name().toLowerCase(Locale.ROOT), run.seconds(),
                p.downtimeMs() == null ? "-" : p.downtimeMs() + " ms", p.ram().transferred() / (double) MIB,
                p.ram().iterations(), throttle == null ? "-" : String.format(Locale.ROOT, "%.2f (%d raises)",
                        throttle.throttledMs() / 1e3, throttle.raises()), run.writesPerSecond());
    }

    // ---- 2. compressible memory ----

    private void compression(long link) throws Exception {
        long bytes = PrecopyBenchmark.parseSize(compressSize);
        System.out.printf(Locale.ROOT, "2. compressible guest: %d MiB of text-like pages (1 in 16 zero), paused, "
                + "%d channels%n", bytes / MIB, channels);
        System.out.printf(Locale.ROOT, "   %d runs each, a new pair of guests each run: first run / median%n", repeat);
        System.out.printf(Locale.ROOT, "   %-10s %15s %10s %7s %17s %17s%n", "method", "total s", "wire MiB", "ratio",
                "src CPU s/GiB", "dst CPU s/GiB");
        List<ConvergenceSettings.Compression> methods = List.of(ConvergenceSettings.Compression.NONE,
                new ConvergenceSettings.Compression(CompressionMethod.ZSTD, 1),
                new ConvergenceSettings.Compression(CompressionMethod.ZSTD, 3),
                new ConvergenceSettings.Compression(CompressionMethod.LZ4, 1),
                new ConvergenceSettings.Compression(CompressionMethod.LZ4, 9));
        for (ConvergenceSettings.Compression method : methods) {
            List<Compressed> runs = new ArrayList<>();
            for (int run = 0; run < repeat; run++) {
                runs.add(compressionRun(bytes, link, method));
            }
            Compressed first = runs.get(0);
            double gib = bytes / GIB;
            System.out.printf(Locale.ROOT, "   %-10s %15s %10.1f %7s %17s %17s%n",
                    method.enabled() ? method.method().apiName() + " " + method.level() : "none",
                    firstAndMedian(runs, Compressed::seconds, 1), first.wireBytes() / (double) MIB,
                    first.ratio() == null ? "-" : String.format(Locale.ROOT, "%.2f", first.ratio()),
                    firstAndMedian(runs, r -> r.sourceCpuNanos() / 1e9, gib),
                    firstAndMedian(runs, r -> r.destinationCpuNanos() / 1e9, gib));
        }
        System.out.println();
    }

    private record Compressed(double seconds, long wireBytes, Double ratio, long sourceCpuNanos,
                              long destinationCpuNanos) {
    }

    private static String firstAndMedian(List<Compressed> runs, java.util.function.ToDoubleFunction<Compressed> figure,
                                         double per) {
        List<Double> values = runs.stream().map(r -> figure.applyAsDouble(r) / per).toList();
        return String.format(Locale.ROOT, "%.2f / %.2f", values.get(0),
                Quantiles.median(values, java.util.Comparator.naturalOrder()));
    }

    private Compressed compressionRun(long bytes, long link, ConvergenceSettings.Compression method) throws Exception {
        GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(), List.of(new RamBlockSpec("pc.ram", bytes)),
                List.of(), 4096, WorkloadSpec.idle());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            GuestContent.fillText(source.memory().blocks().get(0), 9);
            source.pause();
            String sum = source.checksums().memory();
            loopback.convergence(new ConvergenceSettings(ConvergenceSettings.AutoConverge.OFF,
                    ConvergenceSettings.Xbzrle.OFF, method));
            loopback.channels(channels);
            // the side's threads of this loopback alone: those of the last one may still be winding down
            long sourceBefore = threadCpuNanos(LoopbackMigration.SOURCE_THREADS);
            long destinationBefore = threadCpuNanos(LoopbackMigration.DESTINATION_THREADS);
            long start = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, link, 300, false, null);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (report.phase() != MigrationPhase.COMPLETED || !destination.checksums().memory().equals(sum)) {
                throw new IllegalStateException(method + ": " + report.phase() + " " + report.reason()
                        + " (or memory differs)");
            }
            long sourceCpu = loopback.lastSourceThreadCpuNanos() + threadCpuNanos(LoopbackMigration.SOURCE_THREADS)
                    - sourceBefore;
            long destinationCpu = threadCpuNanos(LoopbackMigration.DESTINATION_THREADS) - destinationBefore;
            MigrationProgress.Compression c = report.progress().convergence() == null ? null
                    : report.progress().convergence().compression();
            return new Compressed(seconds, report.progress().ram().transferred(), c == null ? null : c.ratio(),
                    sourceCpu, destinationCpu);
        }
    }

    /** CPU time of the live threads whose name starts with {@code prefix} (a loopback side's event loops). */
    private static long threadCpuNanos(String prefix) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith(prefix)) {
                total += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
            }
        }
        return total;
    }

    // ---- 3. the dirty-rate measurement ----

    private void dirtyRate(long link) throws Exception {
        GuestSpec spec = busySpec(link);
        long hotPages = (long) Math.ceil(hotSet * PrecopyBenchmark.parseSize(size) / PAGE);
        System.out.printf(Locale.ROOT, "3. dirty rate of the busy guest (asked %d writes/s into %d hot pages), "
                + "1 s windows:%n", spec.workload().dirtyPagesPerSecond(), hotPages);
        try (SyntheticGuest guest = SyntheticGuest.create(spec, datastore)) {
            List<String> lines = new ArrayList<>();
            for (int run = 1; run <= 6; run++) {
                boolean dirtyLog = run > 3;   // three windows by page sampling, three by the dirty log
                long writes = guest.memoryWrites();
                java.time.Duration window = java.time.Duration.ofSeconds(1);
                DirtyRateSampler.Result measured = dirtyLog
                        ? DirtyRateSampler.measureDirtyLog(guest, window, DirtyRateSampler.DEFAULT_SAMPLE_PAGES_PER_GIB, run)
                        : DirtyRateSampler.measure(guest, window, DirtyRateSampler.DEFAULT_SAMPLE_PAGES_PER_GIB, run);
                double seconds = measured.windowNanos() / 1e9;
                double written = (guest.memoryWrites() - writes) / seconds;
                // the distinct pages the writes really made imply: uniform over the hot set
                double expected = hotPages * (1 - Math.pow(1 - 1.0 / hotPages, written * seconds)) / seconds;
                lines.add(String.format(Locale.ROOT, "   %-13s %9.0f distinct pages/s; the workload wrote %9.0f/s, "
                                + "which implies %9.0f distinct pages/s: measured/implied %.3f",
                        dirtyLog ? "dirty-bitmap" : "page-sampling", measured.dirtyPagesPerSecond(), written, expected,
                        measured.dirtyPagesPerSecond() / expected));
            }
            lines.forEach(System.out::println);
        }
        System.out.println();
    }

    private static void sleepSeconds(int seconds) {
        try {
            Thread.sleep(seconds * 1000L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
