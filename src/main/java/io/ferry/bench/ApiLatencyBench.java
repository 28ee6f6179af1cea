package io.ferry.bench;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.IntFunction;
import tools.jackson.databind.JsonNode;

/**
 * Part 1 of {@code bench-control}: the API with many finished jobs. {@code ferry serve} on its
 * schema (external workers, dispatcher on) and the rows of {@link JobSeeder}, in steps (10 000,
 * then 100 000 jobs); after each step, p50/p99 over HTTP of the job list (each filter, first page
 * and a deep page by cursor), get-by-id, create (and the cancel that frees the guest again), next
 * to a bare {@code SELECT 1}; and the rows the idle control plane reads from {@code migration_jobs}
 * per second (its periodic passes), which must not grow with the finished jobs.
 */
final class ApiLatencyBench {

    private final PostgresSchema schema;
    private final List<Integer> steps;
    private final int samples;
    private final int warmup;
    private final int pageSize;
    private final int idleSeconds;
    private final JobSeeder seeded;
    private LocalControlPlane plane;

    ApiLatencyBench(PostgresSchema schema, List<Integer> steps, int samples, int warmup, int guestCount, int pageSize,
                    int idleSeconds) {
        this.schema = schema;
        this.steps = steps;
        this.samples = samples;
        this.warmup = warmup;
        this.pageSize = pageSize;
        this.idleSeconds = idleSeconds;
        this.seeded = new JobSeeder(guestCount);
    }

    void run(boolean keep) throws Exception {
        List<String> options = new ArrayList<>(schema.serveOptions());
        options.addAll(List.of("--ferry.workers.launch=external",
                // the hosts are rows without workers: their heartbeats must not run out during the run
                "--ferry.worker.heartbeat-timeout=24h"));
        try (LocalControlPlane started = LocalControlPlane.start("control", LocalControlPlane.freePort(),
                LocalControlPlane.newToken(), options, 0, keep, ControlBenchmark::progress)) {
            plane = started;
            Connection db = schema.connection();
            seeded.seedHostsAndGuests(db);
            Map<Integer, Map<String, Quantiles>> results = new LinkedHashMap<>();
            Map<Integer, long[]> idle = new LinkedHashMap<>();
            int done = 0;
            for (int target : steps) {
                long t0 = System.nanoTime();
                seeded.seedJobs(db, done, target);
                done = target;
                try (Statement s = db.createStatement()) {
                    s.execute("vacuum analyze migration_jobs");
                    s.execute("vacuum analyze job_events");
                }
                ControlBenchmark.progress("%d jobs seeded (+ timelines) and analyzed in %.1f s", target,
                        (System.nanoTime() - t0) / 1e9);
                results.put(target, measure(db));
                idle.put(target, idleReads(db));
            }
            printTables(results, idle);
        }
    }

    private Map<String, Quantiles> measure(Connection db) throws Exception {
        Map<String, Quantiles> r = new LinkedHashMap<>();
        try (Statement s = db.createStatement()) {
            r.put("SELECT 1 (JDBC round trip)", time(i -> {
                try (ResultSet rs = s.executeQuery("select 1")) {
                    rs.next();
                }
            }));
        }
        int size = pageSize;
        r.put("list, no filter, first page", list(i -> "size=" + size));
        r.put("list, status=completed, first page", list(i -> "status=completed&size=" + size));
        r.put("list, status=queued, first page", list(i -> "status=queued&size=" + size));
        r.put("list, hostId, first page", list(i -> "hostId=" + JobSeeder.HOSTS.get(i % JobSeeder.HOSTS.size()) + "&size=" + size));
        r.put("list, guestId, first page", list(i -> "guestId=" + seeded.idleGuest(i % 500) + "&size=" + size));
        // deep pages: a cursor about 80 % down each list, taken once from a page asked for by number
        String deepAll = deepCursor("size=" + size);
        r.put("list, no filter, deep page (cursor)", list(i -> "size=" + size + "&after=" + deepAll));
        String deepStatus = deepCursor("status=completed&size=" + size);
        r.put("list, status=completed, deep page (cursor)", list(i -> "status=completed&size=" + size + "&after=" + deepStatus));
        List<String> deepHosts = new ArrayList<>();
        for (String h : JobSeeder.HOSTS) {
            deepHosts.add(deepCursor("hostId=" + h + "&size=" + size));
        }
        r.put("list, hostId, deep page (cursor)", list(i -> "hostId=" + JobSeeder.HOSTS.get(i % JobSeeder.HOSTS.size()) + "&size=" + size
                + "&after=" + deepHosts.get(i % JobSeeder.HOSTS.size())));
        UUID busy = seeded.busyGuest();
        String deepGuest = deepCursor("guestId=" + busy + "&size=" + size);
        r.put(deepGuest == null ? "(too few jobs of one guest for a deep page)" : "list, guestId (1 % of jobs), deep page (cursor)",
                deepGuest == null ? Quantiles.NONE
                        : list(i -> "guestId=" + busy + "&size=" + size + "&after=" + deepGuest));
        int deepNumber = (int) (plane.get("/api/v1/migrations?page=0&size=" + size).get("totalItems").asLong() * 8 / 10 / size);
        r.put("list, no filter, deep page (page at 80 %, OFFSET)", list(i -> "size=" + size + "&page=" + deepNumber));
        r.put("list, status=completed, page=0 with count (compatibility)",
                list(i -> "status=completed&page=0&size=" + size));
        r.put("get by id", time(i -> plane.send("GET", "/api/v1/migrations/" + seeded.randomJob(), null).expect(200)));
        List<String> created = new ArrayList<>();
        r.put("create (queued: every slot held)", time(i -> {
            created.add(plane.send("POST", "/api/v1/migrations", seeded.nextCreate()).expect(202).json()
                    .get("id").asString());
        }));
        int[] next = {0};
        r.put("cancel a queued job (frees its guest)", time(i -> {
            plane.send("POST", "/api/v1/migrations/" + created.get(next[0]++) + "/cancel", null).expectSuccess();
        }, created.size() - warmup - samples >= 0 ? samples : created.size() - warmup));
        return r;
    }

    private String deepCursor(String query) throws Exception {
        long total = plane.get("/api/v1/migrations?page=0&" + query).get("totalItems").asLong();
        int size = Integer.parseInt(query.replaceAll(".*size=(\\d+).*", "$1"));
        long page = Math.max(0, Math.min(total * 8 / 10 / size, (total - 1) / size - 1));
        JsonNode next = plane.get("/api/v1/migrations?" + query + "&page=" + page).get("next");
        return next.isNull() ? null : URLEncoder.encode(next.asString(), StandardCharsets.US_ASCII);
    }

    private Quantiles list(IntFunction<String> query) throws Exception {
        return time(i -> plane.send("GET", "/api/v1/migrations?" + query.apply(i), null).expect(200));
    }

    @FunctionalInterface
    private interface Op {
        void run(int i) throws Exception;
    }

    private Quantiles time(Op op) throws Exception {
        return time(op, samples);
    }

    /** p50, p99, max in ms of {@code n} timed runs after the warm-up ones. */
    private Quantiles time(Op op, int n) throws Exception {
        for (int i = 0; i < warmup; i++) {
            op.run(i);
        }
        long[] nanos = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            op.run(warmup + i);
            nanos[i] = System.nanoTime() - t;
        }
        return Quantiles.of(nanos, 1e6);
    }

    /**
     * What the idle control plane (dispatcher, admission, deadline and drain passes) reads of
     * migration_jobs: {seq scans, rows by seq scan, index scans, rows by index} per second.
     * PostgreSQL publishes a backend's counts within about a second once it idles.
     */
    private long[] idleReads(Connection db) throws Exception {
        Thread.sleep(2000);
        long[] before = tableStats(db);
        Thread.sleep(idleSeconds * 1000L);
        long[] after = tableStats(db);
        long[] perSecond = new long[before.length];
        for (int i = 0; i < before.length; i++) {
            perSecond[i] = Math.round((after[i] - before[i]) / (double) idleSeconds);
        }
        return perSecond;
    }

    private long[] tableStats(Connection db) throws SQLException {
        try (Statement s = db.createStatement()) {
            s.execute("select pg_stat_clear_snapshot()");
            try (ResultSet rs = s.executeQuery("select coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), "
                    + "coalesce(idx_scan, 0), coalesce(idx_tup_fetch, 0) from pg_stat_user_tables "
                    + "where schemaname = '" + schema.name() + "' and relname = 'migration_jobs'")) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)};
            }
        }
    }

    private void printTables(Map<Integer, Map<String, Quantiles>> results, Map<Integer, long[]> idle) {
        List<Integer> sizes = new ArrayList<>(results.keySet());
        System.out.printf("%nbench-control: %d samples per operation (after %d warm-up), page size %d, one client, "
                + "HTTP/1.1 on loopback; ms%n%n", samples, warmup, pageSize);
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "| %-46s |", "operation"));
        StringBuilder rule = new StringBuilder("|" + "-".repeat(48) + "|");
        for (int n : sizes) {
            header.append(String.format(Locale.ROOT, " %,9d jobs p50 | p99 | max |", n));
            rule.append("---:|---:|---:|");
        }
        System.out.println(header);
        System.out.println(rule);
        Map<String, Map<Integer, Quantiles>> byOp = new LinkedHashMap<>();
        results.forEach((n, ops) -> ops.forEach((op, v) -> byOp.computeIfAbsent(op, k -> new TreeMap<>()).put(n, v)));
        byOp.forEach((op, values) -> {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "| %-46s |", op));
            for (int n : sizes) {
                Quantiles v = values.get(n);
                line.append(v == null ? " - | - | - |"
                        : String.format(Locale.ROOT, " %.2f | %.2f | %.2f |", v.p50(), v.p99(), v.max()));
            }
            System.out.println(line);
        });
        System.out.printf("%nidle control plane (dispatcher on), reads of migration_jobs per second over %d s:%n%n",
                idleSeconds);
        System.out.println("| jobs | seq scans/s | rows by seq scan/s | index scans/s | rows by index/s |");
        System.out.println("|---:|---:|---:|---:|---:|");
        idle.forEach((n, v) -> System.out.printf(Locale.ROOT, "| %,d | %d | %d | %d | %d |%n", n, v[0], v[1], v[2], v[3]));
    }
}
