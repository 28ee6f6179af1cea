package io.ferry.bench;

import io.ferry.bench.LocalControlPlane.Reply;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/**
 * {@code ferry bench-fleet}: a real control plane ({@code ferry serve} as a child process with four
 * local workers, see {@link LocalControlPlane}) driven over HTTP as an operator would. Part 1
 * drains a host of many guests to the three others, with the default admission limits and with
 * raised ones, next to a single guest moved alone in the same run. Part 2 asks pre-flight for a
 * forecast of guests of different dirty rates, then moves each and compares the outcome with the
 * forecast.
 */
@Command(name = "bench-fleet", mixinStandardHelpOptions = true,
        description = "Drain a host through a real control plane (default and raised admission limits) "
                + "and compare pre-flight forecasts with real moves.")
public final class FleetBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;
    private static final List<String> HOSTS = List.of("host-a", "host-b", "host-c", "host-d");
    private static final Set<String> TERMINAL = Set.of("completed", "failed", "cancelled");
    /** A baseline move still running after this long is cancelled (and the benchmark stops). */
    private static final long SINGLE_BOUND_MS = 300_000;

    @Option(names = "--guests", defaultValue = "20", description = "Guests on host-a to drain (default ${DEFAULT-VALUE})")
    int guests;

    @Option(names = "--size", defaultValue = "256m", description = "Memory of every guest, e.g. 64m, 256m (default ${DEFAULT-VALUE})")
    String size;

    @Option(names = "--dirty-pages", defaultValue = "2000",
            description = "Drain guests: pages dirtied per second per guest (default ${DEFAULT-VALUE})")
    long dirtyPages;

    @Option(names = "--hot-set", defaultValue = "0.25", description = "Drain guests: hot-set fraction (default ${DEFAULT-VALUE})")
    double hotSet;

    @Option(names = "--raised-out", defaultValue = "6", description = "Run 2: outbound jobs per host (default ${DEFAULT-VALUE})")
    int raisedOut;

    @Option(names = "--raised-in", defaultValue = "6", description = "Run 2: inbound jobs per host (default ${DEFAULT-VALUE})")
    int raisedIn;

    @Option(names = "--raised-cluster", defaultValue = "12", description = "Run 2: jobs in the cluster (default ${DEFAULT-VALUE})")
    int raisedCluster;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Baseline single moves host-a -> host-b; cold (first) and median are shown (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--warmup-s", defaultValue = "5",
            description = "Seconds guests run (dirtying memory) before they are moved (default ${DEFAULT-VALUE})")
    int warmupSeconds;

    @Option(names = "--drain-timeout-s", defaultValue = "900",
            description = "A drain not completed by then is stopped (uncordon) and reported (default ${DEFAULT-VALUE})")
    int drainTimeoutSeconds;

    @Option(names = "--forecast-guests", defaultValue = "5",
            description = "Part 2: guests, dirty rates picked evenly from --forecast-rates (default ${DEFAULT-VALUE}; 0 skips)")
    int forecastGuests;

    @Option(names = "--forecast-rates", defaultValue = "0,2000,8000,20000,60000", split = ",",
            description = "Part 2: dirty pages per second to pick from (default ${DEFAULT-VALUE})")
    List<Long> forecastRates;

    @Option(names = "--forecast-hot-set", defaultValue = "0.5", description = "Part 2: hot-set fraction (default ${DEFAULT-VALUE})")
    double forecastHotSet;

    @Option(names = "--max-bandwidth", defaultValue = "256m", description = "Part 2: maxBandwidth per second (default ${DEFAULT-VALUE})")
    String maxBandwidth;

    @Option(names = "--downtime-limit-ms", defaultValue = "300", description = "Part 2: downtimeLimitMs (default ${DEFAULT-VALUE})")
    long downtimeLimitMs;

    @Option(names = "--forecast-timeout-s", defaultValue = "60",
            description = "Part 2: a move is cancelled after max(this, 2 x predicted total) (default ${DEFAULT-VALUE})")
    int forecastTimeoutSeconds;

    @Option(names = "--capacity", defaultValue = "8g",
            description = "Guest memory each local worker offers (default ${DEFAULT-VALUE})")
    String capacity;

    @Option(names = "--verbose", description = "Also print a table of every job of each drain")
    boolean verbose;

    @Option(names = "--keep-data", description = "Keep the control plane's data dir (database, logs) at the end")
    boolean keepData;

    private LocalControlPlane plane;
    private long bytes;
    private final long startNanos = System.nanoTime();

    @Override
    public Integer call() throws Exception {
        bytes = PrecopyBenchmark.parseSize(size);
        long capacityBytes = parseBytes(capacity);
        if (guests < 1 || (long) guests * bytes > capacityBytes) {
            throw new IllegalArgumentException("--guests x --size (" + guests * bytes / MIB + " MiB) must fit --capacity ("
                    + capacityBytes / MIB + " MiB)");
        }
        try (LocalControlPlane started = LocalControlPlane.start(HOSTS, capacityBytes, keepData, this::progress)) {
            plane = started;
            run();
        }
        return 0;
    }

    private void run() throws Exception {
        System.out.printf(Locale.ROOT, "Ferry fleet benchmark: ferry serve + 4 local workers (%s), %d cores, "
                        + "guests of %d MiB%n%n", String.join(", ", HOSTS), Runtime.getRuntime().availableProcessors(),
                bytes / MIB);

        // ---- baseline: one guest moved alone, host-a -> host-b ----
        Map<String, Object> limitsDefault = limits(null, null, null);
        progress("baseline: one guest moved alone host-a -> host-b, %d time(s)", repeat);
        String single = createGuest("single", "host-a", dirtyPages, hotSet);
        sleepWarmup();
        List<Job> singles = new ArrayList<>();
        for (int i = 0; i < Math.max(1, repeat); i++) {
            Job j = move(single, "host-b", Map.of(), SINGLE_BOUND_MS);
            singles.add(j);
            progress("baseline run %d: %s, transfer %.2f s, downtime %s ms", i + 1, j.status, j.transferS(),
                    j.downtimeMs == null ? "-" : j.downtimeMs);
            if (!j.status.equals("completed")) {
                throw new IllegalStateException("the baseline move ended " + j.status + ": " + j.reason);
            }
            if (i + 1 < Math.max(1, repeat)) {
                Job back = move(single, "host-a", Map.of(), SINGLE_BOUND_MS);   // untimed: back to host-a for the next run
                if (!back.status.equals("completed")) {
                    throw new IllegalStateException("the move back to host-a ended " + back.status + ": " + back.reason);
                }
            }
        }
        deleteGuest(single);
        Job cold = singles.get(0);
        List<Job> sorted = singles.stream().sorted(Comparator.comparingDouble(Job::transferS)).toList();
        Job median = sorted.get(sorted.size() / 2);
        double singleS = median.transferS();

        // ---- part 1: drains ----
        DrainRun run1 = drain("1: default limits", limitsDefault);
        DrainRun run2 = drain("2: raised limits", limits(raisedCluster, raisedOut, raisedIn));
        plane.put("/api/v1/admission/limits", Map.of());   // back to the configuration's

        // ---- part 2: forecasts ----
        List<Forecast> forecasts = forecastGuests > 0 ? forecasts() : List.of();

        // ---- tables ----
        System.out.printf(Locale.ROOT, "Baseline: one %d MiB guest (%d dirty pages/s, hot set %.2f) moved alone "
                + "host-a -> host-b, %d run(s): %s s%n", bytes / MIB, dirtyPages, hotSet, singles.size(),
                singles.stream().map(j -> f(j.transferS())).toList());
        String bl = "%-14s %12s %10s %12s %12s%n";
        System.out.printf(Locale.ROOT, bl, "single move", "transfer s", "wait s", "totalTime s", "downtime ms");
        System.out.printf(Locale.ROOT, bl, "cold (run 1)", f(cold.transferS()), f(cold.waitS()), f(cold.totalTimeMs / 1000.0),
                str(cold.downtimeMs));
        System.out.printf(Locale.ROOT, bl, "median", f(median.transferS()), f(median.waitS()),
                f(median.totalTimeMs / 1000.0), str(median.downtimeMs));

        System.out.printf(Locale.ROOT, "%nPart 1: drain of host-a, %d guests x %d MiB (%d dirty pages/s each, hot set %.2f) "
                        + "to host-b, host-c, host-d%n", guests, bytes / MIB, dirtyPages, hotSet);
        String dl = "%-20s %-12s %9s %21s %21s %10s %10s %12s %8s %-8s%n";
        System.out.printf(Locale.ROOT, dl, "run", "limits c/o/i", "drain s", "queue wait s min/med/max",
                "transfer s min/med/max", "sum xfer s", "drain/sum", "drain/(N*1)", "max run", "outcome");
        for (DrainRun r : List.of(run1, run2)) {
            System.out.printf(Locale.ROOT, dl, r.name, r.limits, f(r.drainS), r.waits.text(), r.transfers.text(),
                    f(r.sumTransferS), f(r.drainS / r.sumTransferS), f(r.drainS / (guests * singleS)),
                    r.maxRunning, r.outcome);
        }
        System.out.printf(Locale.ROOT, "single move alone (median) %.2f s; %d x single = %.2f s. drain s = drain start -> "
                        + "completed (server clock); drain/sum < 1: moves overlapped; max run = most jobs running at once%n",
                singleS, guests, guests * singleS);
        for (DrainRun r : List.of(run1, run2)) {
            System.out.printf(Locale.ROOT, "run %s: per destination %s; downtime ms min/med/max %s%n", r.name, r.perDestination,
                    r.downtimes.text0());
        }
        if (verbose) {
            for (DrainRun r : List.of(run1, run2)) {
                System.out.printf(Locale.ROOT, "%nrun %s, every job (times from drain start):%n", r.name);
                String jl = "%-10s %-7s %-10s %9s %9s %9s %10s %10s %11s %5s%n";
                System.out.printf(Locale.ROOT, jl, "guest", "to", "status", "queued s", "started s", "wait s",
                        "transfer s", "finished s", "downtime ms", "iter");
                for (Job j : r.jobs.stream().sorted(Comparator.comparing((Job j) -> j.startedAt == null ? Instant.MAX
                        : j.startedAt)).toList()) {
                    System.out.printf(Locale.ROOT, jl, j.guestName, j.destination, j.status, f(since(r.start, j.createdAt)),
                            f(since(r.start, j.startedAt)), f(j.waitS()), f(j.transferS()), f(since(r.start, j.finishedAt)),
                            str(j.downtimeMs), j.iterations);
                }
            }
        }

        if (!forecasts.isEmpty()) {
            System.out.printf(Locale.ROOT, "%nPart 2: pre-flight forecast against the move, %d MiB guests (hot set %.2f), "
                            + "host-a -> host-b, maxBandwidth %s/s, downtimeLimitMs %d, one at a time%n",
                    bytes / MIB, forecastHotSet, maxBandwidth, downtimeLimitMs);
            String fl = "%9s %10s %-17s %-26s %11s %11s %-40s %10s %11s %9s%n";
            System.out.printf(Locale.ROOT, fl, "dirty p/s", "measured", "verdict", "bandwidth (source)", "pred total s",
                    "pred down ms", "actual", "total s", "downtime ms", "act/pred");
            for (Forecast fc : forecasts) {
                Job j = fc.job;
                String actual = j == null ? "not moved" : fc.cancelledAfterS != null
                        ? "did not converge (cancelled after " + Math.round(fc.cancelledAfterS) + " s)"
                        : j.status + (j.status.equals("completed") ? ", " + j.iterations + " rounds" : "");
                double actualS = j == null ? Double.NaN : j.totalTimeMs > 0 ? j.totalTimeMs / 1000.0 : j.transferS();
                System.out.printf(Locale.ROOT, fl, fc.rate, f0(fc.measured), fc.verdict,
                        fc.bandwidth / MIB + " MiB/s (" + fc.bandwidthSource + ")",
                        fc.predictedTotalMs < 0 ? "-" : f(fc.predictedTotalMs / 1000.0),
                        fc.predictedDowntimeMs < 0 ? "-" : Long.toString(fc.predictedDowntimeMs), actual,
                        f(actualS), j == null ? "-" : str(j.downtimeMs),
                        fc.predictedTotalMs > 0 && j != null && j.status.equals("completed")
                                ? f(actualS * 1000 / fc.predictedTotalMs) : "-");
            }
            System.out.println("measured = dirty pages/s the source measured in pre-flight (1 s window); "
                    + "total s = the job's progress.totalTimeMs (or its transfer time when cancelled)");
        }
        System.out.printf(Locale.ROOT, "%nsingle moves: longest lag from status completed/cancelled to the guest running "
                + "with the job's downtime reported: %d ms (%s)%n", settleLagMs, settleLagWhat);
    }

    // ---- part 1 ------------------------------------------------------------------------------------------------

    private Map<String, Object> limits(Integer cluster, Integer out, Integer in) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (cluster != null) {
            body.put("maxJobs", cluster);
            body.put("maxOutboundPerHost", out);
            body.put("maxInboundPerHost", in);
        }
        return body;
    }

    private record Stats(double min, double median, double max) {

        static Stats of(List<Double> values) {
            List<Double> v = values.stream().filter(d -> !d.isNaN()).sorted().toList();
            return v.isEmpty() ? new Stats(Double.NaN, Double.NaN, Double.NaN)
                    : new Stats(v.get(0), v.get(v.size() / 2), v.get(v.size() - 1));
        }

        String text() {
            return f(min) + " / " + f(median) + " / " + f(max);
        }

        String text0() {
            return f0(min) + " / " + f0(median) + " / " + f0(max);
        }
    }

    private record DrainRun(String name, String limits, Instant start, double drainS, List<Job> jobs, Stats waits,
                            Stats transfers, Stats downtimes, double sumTransferS, int maxRunning,
                            Map<String, Integer> perDestination, String outcome) {
    }

    private DrainRun drain(String name, Map<String, Object> limitsBody) throws Exception {
        JsonNode l = plane.put("/api/v1/admission/limits", limitsBody);
        String limits = l.get("maxJobs").asInt() + "/" + l.get("maxOutboundPerHost").asInt() + "/"
                + l.get("maxInboundPerHost").asInt();
        progress("drain %s (cluster/out/in %s): creating %d guests on host-a", name, limits, guests);
        Map<String, String> names = new TreeMap<>();
        for (int i = 0; i < guests; i++) {
            String n = String.format(Locale.ROOT, "g%02d", i + 1);
            names.put(createGuest(n, "host-a", dirtyPages, hotSet), n);
        }
        sleepWarmup();
        progress("drain %s: POST /hosts/host-a/drain", name);
        Reply started = plane.send("POST", "/api/v1/hosts/host-a/drain", null);
        started.expect(202);
        String drainId = started.json().get("drain").get("id").asString();
        long deadline = System.nanoTime() + drainTimeoutSeconds * 1_000_000_000L;
        long nextLine = 0;
        JsonNode drain;
        String outcome;
        while (true) {
            drain = plane.get("/api/v1/hosts/host-a").get("drain");
            String state = drain.get("state").asString();
            if (!state.equals("draining")) {
                outcome = state;
                break;
            }
            if (System.nanoTime() > deadline) {
                progress("drain %s: not completed after %d s; stopping it (uncordon)", name, drainTimeoutSeconds);
                outcome = "timed out after " + drainTimeoutSeconds + " s";
                break;
            }
            if (System.nanoTime() > nextLine) {
                progress("drain %s: %d of %d guests left, jobs %s", name, drain.get("guestsLeft").asInt(),
                        drain.get("guests").asInt(), drain.get("jobsByStatus"));
                nextLine = System.nanoTime() + 5_000_000_000L;
            }
            Thread.sleep(250);
        }
        Instant drainStart = Instant.parse(drain.get("startedAt").asString());
        Instant drainEnd = drain.hasNonNull("finishedAt") ? Instant.parse(drain.get("finishedAt").asString())
                : Instant.now();   // timed out: up to now
        double drainS = Duration.between(drainStart, drainEnd).toNanos() / 1e9;
        if (outcome.equals("completed")) {
            int moved = 0;
            for (JsonNode g : drain.get("guestStates")) {
                moved += g.get("state").asString().equals("moved") ? 1 : 0;
            }
            outcome = moved == guests ? "all moved" : moved + " of " + guests + " moved (failed " + drain.get("failed").size()
                    + ", unplaceable " + drain.get("unplaceable").size() + ")";
        }
        List<Job> jobs = new ArrayList<>();
        for (JsonNode item : plane.get("/api/v1/migrations?hostId=host-a&size=200").get("items")) {
            if (drainId.equals(item.path("drainId").asString(null))) {
                Job j = Job.of(item);
                j.guestName = names.getOrDefault(j.guestId, j.guestId.substring(0, 8));
                jobs.add(j);
            }
        }
        progress("drain %s: %s in %.2f s, %d jobs", name, outcome, drainS, jobs.size());
        // uncordon, then clear the guests away (they are on the other hosts now) for the next run
        plane.send("DELETE", "/api/v1/hosts/host-a/drain", null);
        if (outcome.startsWith("timed out")) {
            waitUntilSettled(jobs);
        }
        for (String g : names.keySet()) {
            deleteGuest(g);
        }
        List<Job> completed = jobs.stream().filter(j -> j.status.equals("completed")).toList();
        Map<String, Integer> perDestination = new TreeMap<>();
        completed.forEach(j -> perDestination.merge(j.destination, 1, Integer::sum));
        return new DrainRun(name, limits, drainStart, drainS, jobs,
                Stats.of(jobs.stream().map(Job::waitS).toList()),
                Stats.of(completed.stream().map(Job::transferS).toList()),
                Stats.of(completed.stream().map(j -> j.downtimeMs == null ? Double.NaN : (double) j.downtimeMs).toList()),
                completed.stream().mapToDouble(Job::transferS).sum(), maxRunning(jobs), perDestination, outcome);
    }

    /** The most jobs whose [startedAt, finishedAt) intervals overlap, from the jobs' own timestamps. */
    private static int maxRunning(List<Job> jobs) {
        List<long[]> edges = new ArrayList<>();
        for (Job j : jobs) {
            if (j.startedAt != null && j.finishedAt != null) {
                edges.add(new long[] {toMicros(j.startedAt), 1});
                edges.add(new long[] {toMicros(j.finishedAt), -1});
            }
        }
        edges.sort(Comparator.comparingLong((long[] e) -> e[0]).thenComparingLong(e -> e[1]));
        int now = 0;
        int most = 0;
        for (long[] e : edges) {
            now += (int) e[1];
            most = Math.max(most, now);
        }
        return most;
    }

    private void waitUntilSettled(List<Job> jobs) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        for (Job j : jobs) {
            while (System.nanoTime() < deadline && !TERMINAL.contains(plane.get("/api/v1/migrations/" + j.id)
                    .get("status").asString())) {
                Thread.sleep(250);
            }
        }
    }

    // ---- part 2 ------------------------------------------------------------------------------------------------

    private static final class Forecast {
        long rate;
        double measured;
        String verdict;
        long bandwidth;
        String bandwidthSource;
        long predictedTotalMs;
        long predictedDowntimeMs;
        Job job;
        Double cancelledAfterS;
    }

    private List<Forecast> forecasts() throws Exception {
        List<Long> rates = pick(forecastRates, forecastGuests);
        long bandwidth = parseBytes(maxBandwidth);
        Map<String, Object> parameters = Map.of("maxBandwidth", bandwidth, "downtimeLimitMs", downtimeLimitMs);
        List<Forecast> out = new ArrayList<>();
        for (long rate : rates) {
            Forecast fc = new Forecast();
            fc.rate = rate;
            String guest = createGuest("fc-" + rate, "host-a", rate, forecastHotSet);
            sleepWarmup();
            Map<String, Object> body = Map.of("guestId", guest, "destinationHostId", "host-b", "parameters", parameters);
            Reply pre = plane.send("POST", "/api/v1/migrations/preflight?dirtyRateWindowMs=1000", body);
            pre.expect(200);
            JsonNode f = pre.json().get("forecast");
            if (f == null || f.isNull()) {
                throw new IllegalStateException("pre-flight gave no forecast: " + pre.body());
            }
            fc.measured = f.get("dirtyPagesPerSecond").asDouble();
            fc.verdict = f.get("verdict").asString();
            fc.bandwidth = f.get("bandwidthBytesPerSecond").asLong();
            fc.bandwidthSource = f.get("bandwidthSource").asString();
            fc.predictedTotalMs = f.get("predictedTotalTimeMs").asLong();
            fc.predictedDowntimeMs = f.get("predictedDowntimeMs").asLong();
            progress("forecast %d pages/s: measured %.0f pages/s, %s, predicted total %d ms, downtime %d ms; moving it",
                    rate, fc.measured, fc.verdict, fc.predictedTotalMs, fc.predictedDowntimeMs);
            long boundMs = Math.max(forecastTimeoutSeconds * 1000L, 2 * Math.max(0, fc.predictedTotalMs));
            long t0 = System.nanoTime();
            Job j = move(guest, "host-b", parameters, boundMs);
            if (j.cancelledByBench) {
                fc.cancelledAfterS = (j.cancelRequestedNanos - t0) / 1e9;
            }
            fc.job = j;
            progress("forecast %d pages/s: %s, total %d ms, downtime %s ms", rate, j.status, j.totalTimeMs,
                    str(j.downtimeMs));
            deleteGuest(guest);
            out.add(fc);
        }
        return out;
    }

    /** {@code n} values spread evenly over the list, first and last included. */
    static List<Long> pick(List<Long> values, int n) {
        if (n >= values.size()) {
            List<Long> all = new ArrayList<>(values);
            for (int i = values.size(); i < n; i++) {
                all.add(values.get(values.size() - 1) * (i - values.size() + 2));
            }
            return all;
        }
        List<Long> picked = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            picked.add(values.get(n == 1 ? 0 : (int) Math.round(i * (values.size() - 1) / (double) (n - 1))));
        }
        return picked;
    }

    // ---- moves, guests -----------------------------------------------------------------------------------------

    private static final class Job {
        String id;
        String guestId;
        String guestName;
        String destination;
        String status;
        String reason;
        Instant createdAt;
        Instant startedAt;
        Instant finishedAt;
        long totalTimeMs;
        Long downtimeMs;
        long iterations;
        boolean cancelledByBench;
        long cancelRequestedNanos;

        static Job of(JsonNode n) {
            Job j = new Job();
            j.id = n.get("id").asString();
            j.guestId = n.get("guestId").asString();
            j.destination = n.path("destinationHostId").asString("-");
            j.status = n.get("status").asString();
            j.reason = n.path("failure").isNull() || n.path("failure").isMissingNode()
                    ? n.path("statusReason").asString("") : n.path("failure").asString();
            j.createdAt = instant(n, "createdAt");
            j.startedAt = instant(n, "startedAt");
            j.finishedAt = instant(n, "finishedAt");
            JsonNode p = n.path("progress");
            j.totalTimeMs = p.path("totalTimeMs").asLong(0);
            j.downtimeMs = p.hasNonNull("downtimeMs") ? p.get("downtimeMs").asLong() : null;
            j.iterations = p.path("ram").path("iterations").asLong(0);
            return j;
        }

        double waitS() {
            return startedAt == null || createdAt == null ? Double.NaN
                    : Duration.between(createdAt, startedAt).toNanos() / 1e9;
        }

        double transferS() {
            return startedAt == null || finishedAt == null ? Double.NaN
                    : Duration.between(startedAt, finishedAt).toNanos() / 1e9;
        }
    }

    /** Moves a guest and waits for the job to end; past {@code boundMs} it is cancelled (and waited for). */
    private Job move(String guestId, String destination, Map<String, Object> parameters, long boundMs)
            throws InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("guestId", guestId);
        body.put("destinationHostId", destination);
        if (!parameters.isEmpty()) {
            body.put("parameters", parameters);
        }
        Reply created = plane.send("POST", "/api/v1/migrations", body);
        created.expect(202);
        String id = created.json().get("id").asString();
        long start = System.nanoTime();
        boolean cancelled = false;
        long cancelAt = 0;
        while (true) {
            JsonNode job = plane.get("/api/v1/migrations/" + id);
            if (TERMINAL.contains(job.get("status").asString())) {
                job = settle(id, guestId, job);
                Job j = Job.of(job);
                j.cancelledByBench = cancelled;
                j.cancelRequestedNanos = cancelAt;
                if (cancelled) {
                    // the source's figures at the cancel: its last report
                    j.totalTimeMs = job.path("progress").path("totalTimeMs").asLong(0);
                }
                return j;
            }
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            if (!cancelled && elapsedMs > boundMs) {
                progress("job %s still %s after %d s: cancelling it", id, job.get("status").asString(), elapsedMs / 1000);
                Reply c = plane.send("POST", "/api/v1/migrations/" + id + "/cancel", null);
                if (c.status() != 200) {
                    progress("cancel answered %d: %s", c.status(), c.body());
                }
                cancelled = true;
                cancelAt = System.nanoTime();
            }
            if (cancelled && (System.nanoTime() - cancelAt) > 60_000_000_000L) {
                throw new IllegalStateException("job " + id + " not ended 60 s after its cancel: " + job);
            }
            Thread.sleep(100);
        }
    }

    /**
     * A job that ended: waits (at most 30 s) until its guest runs again, on the destination when it
     * completed, and its final figures (downtime) are in; the API may show "completed" a moment
     * before both. The longest such lag is reported.
     */
    private JsonNode settle(String jobId, String guestId, JsonNode job) throws InterruptedException {
        long start = System.nanoTime();
        boolean completed = job.get("status").asString().equals("completed");
        String host = completed ? job.get("destinationHostId").asString() : job.get("sourceHostId").asString();
        while (System.nanoTime() - start < 30_000_000_000L) {
            JsonNode guest = plane.get("/api/v1/guests/" + guestId);
            boolean figures = !completed || job.path("progress").hasNonNull("downtimeMs");
            if (figures && guest.get("state").asString().equals("running") && guest.get("hostId").asString().equals(host)) {
                long lagMs = (System.nanoTime() - start) / 1_000_000;
                if (lagMs > settleLagMs) {
                    settleLagMs = lagMs;
                    settleLagWhat = "job " + jobId + " " + job.get("status").asString();
                }
                return job;
            }
            Thread.sleep(50);
            job = plane.get("/api/v1/migrations/" + jobId);
        }
        progress("job %s %s: after 30 s its guest is still not running on %s or its downtime is not reported", jobId,
                job.get("status").asString(), host);
        settleLagMs = 30_000;
        settleLagWhat = "job " + jobId + " (gave up after 30 s)";
        return job;
    }

    private long settleLagMs;
    private String settleLagWhat = "";

    private String createGuest(String name, String host, long dirtyPagesPerSecond, double hotSetFraction)
            throws InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", name);
        body.put("hostId", host);
        body.put("memoryBytes", bytes);
        body.put("disks", List.of(Map.of("name", "root", "sizeBytes", 16 * MIB)));
        body.put("workload", Map.of("dirtyPagesPerSecond", dirtyPagesPerSecond, "hotSetFraction", hotSetFraction,
                "diskWritesPerSecond", 10, "seed", name.hashCode()));
        body.put("labels", Map.of("bench", "fleet"));
        return plane.createGuest(body);
    }

    private void deleteGuest(String id) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            Reply r = plane.send("DELETE", "/api/v1/guests/" + id, null);
            if (r.status() == 204 || r.status() == 404) {
                return;
            }
            if (attempt >= 50) {
                throw new IllegalStateException("cannot delete guest " + id + ": " + r.status() + " " + r.body());
            }
            Thread.sleep(200);
        }
    }

    private void sleepWarmup() throws InterruptedException {
        if (warmupSeconds > 0) {
            progress("guests running %d s before they move", warmupSeconds);
            Thread.sleep(warmupSeconds * 1000L);
        }
    }

    // ---- small helpers -----------------------------------------------------------------------------------------

    private void progress(String format, Object... args) {
        System.err.printf(Locale.ROOT, "[%6.1f s] %s%n", (System.nanoTime() - startNanos) / 1e9,
                String.format(Locale.ROOT, format, args));
    }

    private static Instant instant(JsonNode n, String field) {
        return n.hasNonNull(field) ? Instant.parse(n.get(field).asString()) : null;
    }

    private static long toMicros(Instant i) {
        return i.getEpochSecond() * 1_000_000 + i.getNano() / 1000;
    }

    private static double since(Instant start, Instant at) {
        return at == null ? Double.NaN : Duration.between(start, at).toNanos() / 1e9;
    }

    static long parseBytes(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unit = t.endsWith("g") ? 1L << 30 : t.endsWith("m") ? MIB : t.endsWith("k") ? 1024 : 1;
        String digits = Character.isDigit(t.charAt(t.length() - 1)) ? t : t.substring(0, t.length() - 1);
        return Long.parseLong(digits) * unit;
    }

    private static String f(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f0(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f", v);
    }

    private static String str(Long v) {
        return v == null ? "-" : Long.toString(v);
    }
}
