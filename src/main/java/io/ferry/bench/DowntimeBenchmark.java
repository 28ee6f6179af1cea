package io.ferry.bench;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-downtime}: does the pause honour its limit? Writing guests moved back and
 * forth over loopback, alone and several at once (sharing the link and the cores), with and
 * without checksum verification; the distribution of downtime against the limit, and for every
 * pause over it, the part the job named as the largest (see the COMPLETED report's reason).
 */
@Command(name = "bench-downtime", mixinStandardHelpOptions = true,
        description = "Measure downtime against its limit over many moves of writing guests, alone and at once.")
public final class DowntimeBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;

    @Option(names = "--moves", defaultValue = "50", description = "Moves per case (default ${DEFAULT-VALUE})")
    int moves;

    @Option(names = "--size", defaultValue = "128m", description = "Guest memory (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--dirty-pages", defaultValue = "3000",
            description = "Pages each guest writes per second (default ${DEFAULT-VALUE})")
    long dirtyPages;

    @Option(names = "--limit-ms", defaultValue = "300", description = "Downtime limit (default ${DEFAULT-VALUE})")
    long limitMs;

    @Option(names = "--at-once", defaultValue = "1,8", split = ",",
            description = "Guests moving at the same time, one case each (default ${DEFAULT-VALUE})")
    List<Integer> atOnce;

    @Option(names = "--verify", defaultValue = "false,true", split = ",",
            description = "Cases without and with verifyChecksums (default ${DEFAULT-VALUE})")
    List<Boolean> verify;

    private record Move(long downtimeMs, MigrationPhase phase, String overshoot) {
    }

    @Override
    public Integer call() throws Exception {
        long bytes = PrecopyBenchmark.parseSize(size);
        Path datastore = Files.createTempDirectory("ferry-bench-downtime-");
        System.out.printf(Locale.ROOT, "Ferry downtime benchmark: %d moves per case of %d MiB guests writing %d pages/s, "
                + "loopback, unlimited bandwidth, limit %d ms, %d cores%n%n", moves, bytes / MIB, dirtyPages, limitMs,
                Runtime.getRuntime().availableProcessors());
        String line = "%-10s %-7s %6s %8s %8s %8s %10s  %s%n";
        System.out.printf(Locale.ROOT, line, "at once", "verify", "moves", "p50 ms", "p99 ms", "max ms", "over limit",
                "largest part of each pause over the limit");
        for (boolean withVerify : verify) {
            for (int concurrent : atOnce) {
                List<Move> results = run(datastore, bytes, concurrent, withVerify);
                long[] downtimes = results.stream().filter(m -> m.phase() == MigrationPhase.COMPLETED)
                        .mapToLong(Move::downtimeMs).toArray();
                Quantiles q = Quantiles.of(downtimes, 1);
                long over = results.stream().filter(m -> m.downtimeMs() > limitMs).count();
                long failed = results.stream().filter(m -> m.phase() != MigrationPhase.COMPLETED).count();
                Map<String, Integer> why = new TreeMap<>();
                results.stream().filter(m -> m.downtimeMs() > limitMs)
                        .forEach(m -> why.merge(m.overshoot().isEmpty() ? "NOT EXPLAINED" : m.overshoot(), 1,
                                Integer::sum));
                System.out.printf(Locale.ROOT, line, concurrent, withVerify, q.count() + (failed > 0 ? " (" + failed
                                + " failed)" : ""), f(q.p50()), f(q.p99()), f(q.max()), over, why.isEmpty() ? "-" : why);
            }
        }
        return 0;
    }

    /** {@code moves} moves in all, {@code concurrent} guests at a time, each moved back and forth. */
    private List<Move> run(Path datastore, long bytes, int concurrent, boolean withVerify) throws Exception {
        List<Move> results = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger left = new AtomicInteger(moves);
        ExecutorService pool = Executors.newFixedThreadPool(concurrent);
        try {
            List<Future<?>> guests = new ArrayList<>();
            for (int g = 0; g < concurrent; g++) {
                int seed = g;
                guests.add(pool.submit(() -> {
                    moveBackAndForth(datastore, bytes, seed, withVerify, left, results);
                    return null;
                }));
            }
            for (Future<?> guest : guests) {
                guest.get();
            }
        } finally {
            pool.shutdownNow();
        }
        return results;
    }

    private void moveBackAndForth(Path datastore, long bytes, int seed, boolean withVerify, AtomicInteger left,
                                  List<Move> results) throws Exception {
        GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(), List.of(new RamBlockSpec("pc.ram", bytes)),
                List.of(), 4096, new WorkloadSpec(dirtyPages, 0.25, 0, seed + 1));
        SyntheticGuest here = SyntheticGuest.create(spec, datastore);
        GuestContent.fillRandom(here.memory().blocks().get(0), 42);
        try {
            while (left.getAndDecrement() > 0) {
                SyntheticGuest there = SyntheticGuest.createIncoming(spec, datastore,
                        SyntheticGuest.IncomingImages.SHARED);
                MigrationReport report;
                try (LoopbackMigration loopback = new LoopbackMigration()) {
                    report = loopback.run(here, there, 0, limitMs, withVerify, null);
                }
                if (report.phase() != MigrationPhase.COMPLETED) {
                    results.add(new Move(-1, report.phase(), report.reason()));
                    there.close();
                    continue;
                }
                String reason = report.reason();
                int at = reason.indexOf("ms limit: ");
                String largest = at < 0 ? "" : reason.substring(at + "ms limit: ".length()).split(" \\d+ ms")[0];
                results.add(new Move(report.progress().downtimeMs(), report.phase(), largest));
                here.close();
                here = there;
            }
        } finally {
            here.close();
        }
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }
}
