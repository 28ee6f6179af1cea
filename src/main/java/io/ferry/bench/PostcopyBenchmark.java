package io.ferry.bench;

import io.ferry.channel.MigrationSettings;
import io.ferry.channel.MigrationProgress;

import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.migration.outgoing.OutgoingMigration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-postcopy}: (a) page-fault latency on loopback while the background push
 * runs — a guest switched to post-copy as soon as pre-copy starts, so nearly all its memory is
 * fetched behind it; (b) a guest that dirties memory faster than {@code --bandwidth}: pre-copy
 * alone (stopped after {@code --precopy-limit-s}) next to pre-copy that switches to post-copy
 * after {@code --switch-after} rounds.
 */
@Command(name = "bench-postcopy", mixinStandardHelpOptions = true,
        description = "Measure post-copy fault latency and a non-converging guest with and without the switch.")
public final class PostcopyBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;

    @Option(names = "--size", defaultValue = "1g", description = "Guest memory (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--dirty-pages", defaultValue = "40000",
            description = "Pages the guest dirties per second (default ${DEFAULT-VALUE})")
    int dirtyPages;

    @Option(names = "--bandwidth", defaultValue = "64m",
            description = "maxBandwidth of case (b), bytes/s (default ${DEFAULT-VALUE})")
    String bandwidth;

    @Option(names = "--switch-after", defaultValue = "3", description = "Case (b): rounds before the switch (default ${DEFAULT-VALUE})")
    int switchAfter;

    @Option(names = "--precopy-limit-s", defaultValue = "60",
            description = "Case (b): how long pre-copy alone may try (default ${DEFAULT-VALUE})")
    int precopyLimitSeconds;

    @Option(names = "--repeat", defaultValue = "3", description = "Case (a): runs, each a new pair of guests (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--only-from-start", description = "Case (a) alone")
    boolean fromStartOnly;

    @Option(names = "--max-postcopy-bandwidth", defaultValue = "0",
            description = "maxPostcopyBandwidth of the background push, bytes/s, 0 unlimited (default ${DEFAULT-VALUE})")
    String postcopyBandwidth;

    @Override
    public Integer call() throws Exception {
        long bytes = PrecopyBenchmark.parseSize(size);
        long limit = PrecopyBenchmark.parseSize(bandwidth);
        long push = postcopyBandwidth.equals("0") ? 0 : PrecopyBenchmark.parseSize(postcopyBandwidth);
        Path datastore = Files.createTempDirectory("ferry-bench-postcopy-");
        System.out.printf(Locale.ROOT, "Ferry post-copy benchmark, %d MiB guest dirtying %d pages/s, loopback, %d cores%n%n",
                bytes / MIB, dirtyPages, Runtime.getRuntime().availableProcessors());
        GuestSpec spec = new GuestSpec(UUID.randomUUID().toString(), List.of(new RamBlockSpec("pc.ram", bytes)),
                List.of(), 4096, new WorkloadSpec(dirtyPages, 1.0, 0, 3));

        // the baseline: a request answered by a page over raw loopback TCP, idle and beside a bulk stream
        MigrationProgress.FaultLatency idle = MigrationProgress.FaultLatency.of(RawTcp.pageRoundTrips(2000, false));
        MigrationProgress.FaultLatency loaded = MigrationProgress.FaultLatency.of(RawTcp.pageRoundTrips(2000, true));
        System.out.printf(Locale.ROOT, "baseline, raw loopback TCP, 32-byte request answered by a 4 KiB page, 2000 "
                        + "times:%n    idle                 p50 %.3f ms, p99 %.3f ms, max %.3f ms%n"
                        + "    beside a bulk stream p50 %.3f ms, p99 %.3f ms, max %.3f ms%n%n",
                idle.p50Ms(), idle.p99Ms(), idle.maxMs(), loaded.p50Ms(), loaded.p99Ms(), loaded.maxMs());

        // (a) switch at once: the guest runs on the destination while almost all of its memory is behind it
        System.out.printf(Locale.ROOT, "(a) post-copy from the start, background push %s, %d runs (run 1 is the "
                + "first of this process):%n", push == 0 ? "unlimited" : push / MIB + " MiB/s", repeat);
        List<Double> p99s = new java.util.ArrayList<>();
        for (int run = 1; run <= repeat; run++) {
            Run fromStart = migrate(spec, datastore, 0, new MigrationSettings.PostcopySettings(true, 0, false, push),
                    OutgoingMigration::startPostcopy);
            MigrationProgress.FaultLatency a = MigrationProgress.FaultLatency.of(fromStart.faults());
            p99s.add(a.p99Ms());
            System.out.printf(Locale.ROOT, "    run %d: %s in %.2f s, %d page faults while it ran; fault latency p50 "
                            + "%.3f ms, p99 %.3f ms, max %.3f ms%n", run, fromStart.report().phase(), fromStart.seconds(),
                    a.faults(), a.p50Ms(), a.p99Ms(), a.maxMs());
        }
        System.out.printf(Locale.ROOT, "    p99: first run %.3f ms, median of runs %.3f ms (target < 2 ms; raw beside "
                + "a bulk stream %.3f ms)%n%n", p99s.get(0), Quantiles.median(p99s, java.util.Comparator.naturalOrder()),
                loaded.p99Ms());
        if (fromStartOnly) {
            return 0;
        }

        // (b) a guest that cannot converge at this bandwidth: pre-copy alone, stopped at the limit, then with the switch
        Run alone = migrate(spec, datastore, limit, MigrationSettings.PostcopySettings.OFF, migration -> {
            try {
                Thread.sleep(precopyLimitSeconds * 1000L);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            migration.cancel();
        });
        Run switched = migrate(spec, datastore, limit, new MigrationSettings.PostcopySettings(true, switchAfter, false, push),
                null);
        System.out.printf(Locale.ROOT, "(b) at %d MiB/s: pre-copy alone %s after %d rounds, %d MiB still dirty "
                        + "(stopped at %.1f s)%n    pre-copy switching after %d rounds: %s in %.2f s, downtime %d ms, "
                        + "%d page faults (p99 %.3f ms)%n", limit / MIB, alone.report().phase(),
                alone.report().progress().ram().iterations(), alone.report().progress().ram().remaining() / MIB,
                alone.seconds(), switchAfter, switched.report().phase(), switched.seconds(),
                switched.report().progress().downtimeMs(), switched.faults().length,
                MigrationProgress.FaultLatency.of(switched.faults()).p99Ms());
        return 0;
    }

    private record Run(MigrationReport report, double seconds, long[] faults) {
    }

    /** One loopback migration of a guest full of random bytes; {@code whileRunning} may steer it. */
    private static Run migrate(GuestSpec spec, Path datastore, long maxBandwidth, MigrationSettings.PostcopySettings postcopy,
                               java.util.function.Consumer<OutgoingMigration> whileRunning) throws Exception {
        try (SyntheticGuest source = randomGuest(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration()) {
            long start = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, maxBandwidth, 300, false, false, postcopy,
                    whileRunning);
            return new Run(report, (System.nanoTime() - start) / 1e9, loopback.lastIncoming().faultLatencies());
        }
    }

    /** A running guest whose memory is random bytes, so every page costs a full page on the wire. */
    private static SyntheticGuest randomGuest(GuestSpec spec, Path datastore) throws java.io.IOException {
        SyntheticGuest guest = SyntheticGuest.create(spec, datastore);
        guest.quiesced(() -> {
            guest.memory().blocks().forEach(b -> GuestContent.fillRandom(b, 42));
            return null;
        });
        return guest;
    }
}
