package io.ferry.bench;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-control}: the control plane on PostgreSQL, each part on a schema of its own
 * (dropped at the end) with {@code ferry serve} as child processes:
 * <ol>
 *   <li>{@code latency} ({@link ApiLatencyBench}): list, get and create over HTTP with 10 000 and
 *       100 000 seeded jobs, next to a bare {@code SELECT 1}; the idle dispatcher's reads;</li>
 *   <li>{@code takeover} ({@link TakeoverBench}): two replicas, kill -9 of the one driving 20
 *       active jobs, the time until the other drives them all, next to the lease ttl;</li>
 *   <li>{@code fanout} ({@link FanoutBench}): 100 subscribers to the event stream, events per
 *       second delivered and lag, next to one subscriber;</li>
 *   <li>{@code console} ({@link ConsoleBench}): the web console's migrations page of 1 000 jobs,
 *       cold and median render, next to the JSON API listing the same jobs.</li>
 * </ol>
 */
@Command(name = "bench-control", mixinStandardHelpOptions = true,
        description = "Control plane on PostgreSQL (FERRY_TEST_POSTGRES_URL, _USER, _PASSWORD): API latency with "
                + "10 000 and 100 000 jobs, replica takeover after kill -9, SSE fan-out to 100 subscribers, "
                + "the console's 1000-job page.")
public final class ControlBenchmark implements Callable<Integer> {

    private static final Set<String> PARTS = Set.of("latency", "takeover", "fanout", "console");
    private static final long STARTED = System.nanoTime();

    @Option(names = "--only", split = ",", defaultValue = "latency,takeover,fanout,console",
            description = "Parts to run, of latency, takeover, fanout, console (default ${DEFAULT-VALUE})")
    Set<String> only;

    @Option(names = "--skip-seed", description = "Leave out the latency part (its seeding takes the longest)")
    boolean skipSeed;

    @Option(names = "--steps", defaultValue = "10000,100000", split = ",",
            description = "latency: jobs in the database at each measurement (default ${DEFAULT-VALUE})")
    List<Integer> steps;

    @Option(names = "--samples", defaultValue = "300", description = "latency: timed requests per operation (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--warmup", defaultValue = "50", description = "latency: untimed requests per operation first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--guests", defaultValue = "2000", description = "latency: guests the jobs are spread over (default ${DEFAULT-VALUE})")
    int guestCount;

    @Option(names = "--page-size", defaultValue = "20", description = "latency: jobs per list page (default ${DEFAULT-VALUE})")
    int pageSize;

    @Option(names = "--idle-s", defaultValue = "20",
            description = "latency: seconds the idle control plane's reads of migration_jobs are counted (default ${DEFAULT-VALUE})")
    int idleSeconds;

    @Option(names = "--takeover-jobs", defaultValue = "20", description = "takeover: active jobs on the killed replica (default ${DEFAULT-VALUE})")
    int takeoverJobs;

    @Option(names = "--takeover-guest-mib", defaultValue = "16", description = "takeover: guest memory, MiB (default ${DEFAULT-VALUE})")
    int takeoverGuestMib;

    @Option(names = "--lease-ttl", defaultValue = "10s",
            description = "takeover: ferry.leases.ttl of both replicas, e.g. 10s (default ${DEFAULT-VALUE})")
    String leaseTtl;

    @Option(names = "--subscribers", defaultValue = "100", description = "fanout: concurrent subscribers (default ${DEFAULT-VALUE})")
    int subscribers;

    @Option(names = "--event-rate", defaultValue = "50", description = "fanout: API calls (events) per second (default ${DEFAULT-VALUE})")
    int eventRate;

    @Option(names = "--fanout-s", defaultValue = "20", description = "fanout: seconds events are produced per round (default ${DEFAULT-VALUE})")
    int fanoutSeconds;

    @Option(names = "--console-jobs", defaultValue = "2000",
            description = "console: jobs in the database, the newest 1000 on the page (default ${DEFAULT-VALUE})")
    int consoleJobs;

    @Option(names = "--console-samples", defaultValue = "30",
            description = "console: timed renders of the 1000-job page, and API lists (default ${DEFAULT-VALUE})")
    int consoleSamples;

    @Option(names = "--console-warmup", defaultValue = "5",
            description = "console: untimed renders after the cold one (default ${DEFAULT-VALUE})")
    int consoleWarmup;

    @Option(names = "--keep", description = "Keep the schemas and data dirs")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        Set<String> parts = new LinkedHashSet<>(only);
        if (!PARTS.containsAll(parts)) {
            System.err.println("--only takes " + PARTS + ", not " + parts);
            return 2;
        }
        if (skipSeed) {
            parts.remove("latency");
        }
        if (System.getenv(PostgresSchema.URL_ENV) == null || System.getenv(PostgresSchema.URL_ENV).isBlank()) {
            System.err.println("bench-control needs PostgreSQL: set FERRY_TEST_POSTGRES_URL (and _USER, _PASSWORD)");
            return 2;
        }
        if (parts.contains("latency")) {
            try (PostgresSchema schema = PostgresSchema.create(keep)) {
                new ApiLatencyBench(schema, steps, samples, warmup, guestCount, pageSize, idleSeconds).run(keep);
            }
        }
        if (parts.contains("takeover")) {
            try (PostgresSchema schema = PostgresSchema.create(keep)) {
                TakeoverBench.print(new TakeoverBench(schema, takeoverJobs, takeoverGuestMib * (1L << 20),
                        Duration.parse("PT" + leaseTtl.toUpperCase(Locale.ROOT)), keep).run());
            }
        }
        if (parts.contains("fanout")) {
            try (PostgresSchema schema = PostgresSchema.create(keep)) {
                FanoutBench.print(new FanoutBench(schema, subscribers, eventRate, fanoutSeconds, keep).run(), eventRate);
            }
        }
        if (parts.contains("console")) {
            try (PostgresSchema schema = PostgresSchema.create(keep)) {
                ConsoleBench.print(new ConsoleBench(schema, consoleJobs, consoleSamples, consoleWarmup).run(keep),
                        consoleJobs, consoleSamples, consoleWarmup);
            }
        }
        progress("bench-control done");
        return 0;
    }

    static void progress(String format, Object... args) {
        System.err.printf(Locale.ROOT, "[%6.1f s] %s%n", (System.nanoTime() - STARTED) / 1e9,
                String.format(Locale.ROOT, format, args));
    }
}
