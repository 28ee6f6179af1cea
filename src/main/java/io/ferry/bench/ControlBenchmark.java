package io.ferry.bench;

import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code ferry bench-control}: the control plane's API and dispatcher with many finished jobs in
 * PostgreSQL. A schema of its own; {@code ferry serve} as a child process on it (external
 * workers, dispatcher on); jobs with their timelines seeded by COPY, in steps (10 000, then
 * 100 000); after each step, p50/p99 over HTTP of the job list (each filter, first page and a
 * deep page by cursor), get-by-id, create (and the cancel that frees the guest again), next to a
 * bare {@code SELECT 1}; and the rows the idle control plane reads from {@code migration_jobs}
 * per second (its periodic passes), which must not grow with the finished jobs.
 *
 * <p>No worker runs: hosts and guests are rows (hosts reachable, heartbeats held by a long
 * timeout), some jobs are active and hold every cluster slot, so created jobs wait in the queue
 * and nothing is sent to a worker.
 */
@Command(name = "bench-control", mixinStandardHelpOptions = true,
        description = "Control-plane API latency with 10 000 and 100 000 jobs in PostgreSQL "
                + "(FERRY_TEST_POSTGRES_URL, _USER, _PASSWORD).")
public final class ControlBenchmark implements Callable<Integer> {

    private static final List<String> HOSTS = List.of("host-a", "host-b", "host-c", "host-d");
    /** Jobs holding slots: more than the default cluster limit (5), so the queue stays a queue. */
    private static final int ACTIVE = 8;
    private static final int QUEUED = 20;

    @Option(names = "--steps", defaultValue = "10000,100000", split = ",",
            description = "Jobs in the database at each measurement (default ${DEFAULT-VALUE})")
    List<Integer> steps;

    @Option(names = "--samples", defaultValue = "300", description = "Timed requests per operation (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--warmup", defaultValue = "50", description = "Untimed requests per operation first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--guests", defaultValue = "2000", description = "Guests the jobs are spread over (default ${DEFAULT-VALUE})")
    int guestCount;

    @Option(names = "--page-size", defaultValue = "20", description = "Jobs per list page (default ${DEFAULT-VALUE})")
    int pageSize;

    @Option(names = "--idle-s", defaultValue = "20",
            description = "Seconds the idle control plane's reads of migration_jobs are counted (default ${DEFAULT-VALUE})")
    int idleSeconds;

    @Option(names = "--keep", description = "Keep the schema and data dir")
    boolean keep;

    private final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Random random = new Random(42);
    private final List<UUID> guests = new ArrayList<>();
    private final List<String> guestHosts = new ArrayList<>();
    private final List<UUID> jobIds = new ArrayList<>();
    private String schema;
    private String base;
    private String token;
    private Process serve;
    private Path dataDir;
    private Instant seededUntil;
    private int nextFreeGuest;

    @Override
    public Integer call() throws Exception {
        String url = System.getenv("FERRY_TEST_POSTGRES_URL");
        if (url == null || url.isBlank()) {
            System.err.println("bench-control needs PostgreSQL: set FERRY_TEST_POSTGRES_URL (and _USER, _PASSWORD)");
            return 2;
        }
        String user = System.getenv().getOrDefault("FERRY_TEST_POSTGRES_USER", "postgres");
        String password = System.getenv().getOrDefault("FERRY_TEST_POSTGRES_PASSWORD", "");
        schema = "ferry_bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        dataDir = Files.createTempDirectory("ferry-bench-control-");
        Thread hook = new Thread(this::stopServe, "bench-control-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try (Connection db = DriverManager.getConnection(url, user, password)) {
            db.setAutoCommit(true);
            try (Statement s = db.createStatement()) {
                s.execute("create schema " + schema);
            }
            try {
                run(db, url, user, password);
            } finally {
                stopServe();
                if (keep) {
                    System.out.printf("kept schema %s and data dir %s%n", schema, dataDir);
                } else {
                    try (Statement s = db.createStatement()) {
                        s.execute("drop schema " + schema + " cascade");
                    }
                    LocalControlPlane.deleteTree(dataDir);
                }
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
        return 0;
    }

    private void run(Connection db, String url, String user, String password) throws Exception {
        startServe(url, user, password);
        db.setSchema(schema);
        seedHostsAndGuests(db);
        Map<Integer, Map<String, double[]>> results = new LinkedHashMap<>();
        Map<Integer, long[]> idle = new LinkedHashMap<>();
        int seeded = 0;
        for (int target : steps) {
            long t0 = System.nanoTime();
            seedJobs(db, seeded, target);
            seeded = target;
            try (Statement s = db.createStatement()) {
                s.execute("vacuum analyze migration_jobs");
                s.execute("vacuum analyze job_events");
            }
            System.out.printf("%d jobs seeded (+ timelines) and analyzed in %.1f s%n", target,
                    (System.nanoTime() - t0) / 1e9);
            results.put(target, measure(db));
            idle.put(target, idleReads(db));
        }
        printTables(results, idle);
    }

    // ------------------------------------------------------------------ the control plane

    private void startServe(String url, String user, String password) throws Exception {
        int port = LocalControlPlane.freePort();
        token = LocalControlPlane.newToken();
        base = "http://127.0.0.1:" + port;
        List<String> cmd = LocalControlPlane.serveCommand(port, dataDir, token);
        cmd.addAll(List.of("--ferry.workers.launch=external",
                // the hosts are rows without workers: their heartbeats must not run out during the run
                "--ferry.worker.heartbeat-timeout=24h",
                "--spring.datasource.url=" + url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema,
                "--spring.datasource.username=" + user, "--spring.datasource.password=" + password,
                "--spring.flyway.schemas=" + schema, "--spring.flyway.default-schema=" + schema));
        System.out.printf("starting ferry serve on port %d, schema %s (log: %s)%n", port, schema,
                dataDir.resolve("serve.log"));
        serve = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("serve.log").toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            if (!serve.isAlive()) {
                throw new IllegalStateException("ferry serve exited with " + serve.exitValue() + "; see "
                        + dataDir.resolve("serve.log"));
            }
            try {
                if (send("GET", "/api/v1/hosts", null).statusCode() == 200) {
                    break;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("serve not up after 120 s; see " + dataDir.resolve("serve.log"));
            }
            Thread.sleep(300);
        }
    }

    private synchronized void stopServe() {
        if (serve == null) {
            return;
        }
        try {
            serve.destroy();
            if (!serve.waitFor(30, TimeUnit.SECONDS)) {
                serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        serve = null;
    }

    private HttpResponse<String> send(String method, String path, Object body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token);
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)));
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode getJson(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = send("GET", path, null);
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + ": " + r.statusCode() + " " + r.body());
        }
        return json.readTree(r.body());
    }

    // ------------------------------------------------------------------ seeding

    private void seedHostsAndGuests(Connection db) throws Exception {
        Instant now = Instant.now();
        StringBuilder hosts = new StringBuilder();
        for (String h : HOSTS) {
            hosts.append(csv(h, "REACHABLE", "bench-" + h, "127.0.0.1:1", "127.0.0.1:2", 1L << 40, 16, now, now, 0,
                    "bench-store")).append('\n');
        }
        copy(db, "hosts (id, state, worker_instance, control_address, data_address, memory_capacity_bytes, cpus, "
                + "registered_at, last_heartbeat_at, version, datastore_id)", hosts);
        StringBuilder rows = new StringBuilder();
        StringBuilder blocks = new StringBuilder();
        for (int i = 0; i < guestCount; i++) {
            UUID id = UUID.randomUUID();
            String host = HOSTS.get(i % HOSTS.size());
            guests.add(id);
            guestHosts.add(host);
            rows.append(csv(id, "vm-" + i, host, "running", "bench-" + host, 1, 64L << 20, 4096, 0, 1.0, 0, i,
                    now.minus(400, ChronoUnit.DAYS), 0)).append('\n');
            blocks.append(csv(id, 0, "pc.ram", 64L << 20)).append('\n');
        }
        copy(db, "guests (id, name, host_id, state, worker_instance, state_seq, memory_bytes, device_state_bytes, "
                + "dirty_pages_per_second, hot_set_fraction, disk_writes_per_second, workload_seed, created_at, version)",
                rows);
        copy(db, "ram_blocks (guest_id, position, name, size_bytes)", blocks);
        nextFreeGuest = ACTIVE + QUEUED + 1;   // the first guests take the unfinished jobs, the next is busy
    }

    /**
     * Jobs {@code from} to {@code to}, over the 90 days before now, older first: mostly completed,
     * some failed or cancelled, each with its timeline; the newest {@value #ACTIVE} active and
     * {@value #QUEUED} queued jobs are seeded once, with the first step.
     */
    private void seedJobs(Connection db, int from, int to) throws Exception {
        Instant end = Instant.now().truncatedTo(ChronoUnit.MICROS);
        Instant start = seededUntil == null ? end.minus(90, ChronoUnit.DAYS) : end.minus(180, ChronoUnit.DAYS);
        int count = to - from;
        boolean first = from == 0;
        StringBuilder jobs = new StringBuilder();
        StringBuilder events = new StringBuilder();
        long span = ChronoUnit.MICROS.between(start, seededUntil == null ? end : seededUntil.minus(1, ChronoUnit.DAYS));
        for (int i = 0; i < count; i++) {
            boolean unfinished = first && i >= count - ACTIVE - QUEUED;
            // one guest moved again and again (1 % of the jobs), the others now and then
            int guestIndex = unfinished ? i - (count - ACTIVE - QUEUED)
                    : random.nextInt(100) == 0 ? ACTIVE + QUEUED
                    : ACTIVE + QUEUED + 1 + random.nextInt(guestCount - ACTIVE - QUEUED - 1);
            UUID guest = guests.get(guestIndex);
            String source = guestHosts.get(guestIndex);
            String destination = HOSTS.get((HOSTS.indexOf(source) + 1 + random.nextInt(HOSTS.size() - 1)) % HOSTS.size());
            // several jobs a second at the busiest: some share a createdAt to the microsecond with a neighbour
            Instant created = start.plus(span * i / count, ChronoUnit.MICROS);
            if (unfinished) {
                created = end.minusSeconds(ACTIVE + QUEUED - (i - (count - ACTIVE - QUEUED)));
            }
            UUID id = UUID.randomUUID();
            jobIds.add(id);
            String status;
            int roll = random.nextInt(100);
            if (unfinished) {
                status = i - (count - ACTIVE - QUEUED) < ACTIVE ? "active" : "queued";
            } else {
                status = roll < 85 ? "completed" : roll < 93 ? "failed" : "cancelled";
            }
            Instant started = created.plusMillis(50 + random.nextInt(2000));
            Instant finished = started.plusMillis(2000 + random.nextInt(60_000));
            String failure = status.equals("failed") ? "destination closed the connection" : null;
            boolean ran = !status.equals("queued") && !(status.equals("cancelled") && roll % 2 == 0);
            Instant updated = switch (status) {
                case "queued" -> created;
                case "active" -> started.plusMillis(100);
                default -> finished;
            };
            jobs.append(csv(id, guest, source, destination, status, status, failure, 134217728, 300, "SHARED",
                    false, false, false, "none", 1, created, updated, ran ? started : null,
                    status.equals("completed") || status.equals("failed") || status.equals("cancelled") ? finished : null,
                    ran ? 4 : 1, "USER", 64L << 20, 64L << 20,
                    status.equals("queued") ? "cluster limit: 8 of 5 jobs running" : null,
                    ran ? "bench-" + source : null, ran ? "bench-" + destination : null)).append('\n');
            events.append(csv(id, created, null, "queued", "queued", "api:bench")).append('\n');
            if (ran) {
                events.append(csv(id, started, "queued", "setup", "admitted", "system")).append('\n');
                events.append(csv(id, started.plusMillis(100), "setup", "active", "source connected", "worker")).append('\n');
            }
            switch (status) {
                case "completed" -> events.append(csv(id, finished, "active", "completed", "switchover done", "worker"));
                case "failed" -> events.append(csv(id, finished, ran ? "active" : "queued", "failed", failure, "worker"));
                case "cancelled" -> events.append(csv(id, finished, ran ? "active" : "queued", "cancelled",
                        "cancel requested by api:bench", "api:bench"));
                default -> { }
            }
            if (!status.equals("active") && !status.equals("queued")) {
                events.append('\n');
            }
            if (jobs.length() > 8 << 20) {
                flushJobs(db, jobs, events);
            }
        }
        flushJobs(db, jobs, events);
        if (first) {
            try (Statement s = db.createStatement()) {
                for (int k = 0; k < ACTIVE + QUEUED; k++) {
                    UUID job = jobIds.get(jobIds.size() - ACTIVE - QUEUED + k);
                    s.execute("update guests set active_job_id = '" + job + "' where id = '" + guests.get(k) + "'");
                }
            }
        }
        seededUntil = start;
    }

    private void flushJobs(Connection db, StringBuilder jobs, StringBuilder events) throws SQLException, IOException {
        copy(db, "migration_jobs (id, guest_id, source_host_id, destination_host_id, status, status_reason, failure, "
                + "max_bandwidth, downtime_limit_ms, storage_mode, postcopy, auto_converge, xbzrle, compression, "
                + "channels, created_at, updated_at, started_at, finished_at, version, priority, memory_bytes, "
                + "transfer_bytes, waiting_for, source_worker_instance, destination_worker_instance)", jobs);
        copy(db, "job_events (job_id, at, from_status, to_status, reason, actor)", events);
        jobs.setLength(0);
        events.setLength(0);
    }

    private static void copy(Connection db, String table, StringBuilder rows) throws SQLException, IOException {
        if (rows.isEmpty()) {
            return;
        }
        // PostgreSQL's COPY API, by reflection: the driver is a runtime dependency only
        try {
            Object connection = db.unwrap(Class.forName("org.postgresql.PGConnection"));
            Object api = connection.getClass().getMethod("getCopyAPI").invoke(connection);
            api.getClass().getMethod("copyIn", String.class, java.io.Reader.class).invoke(api,
                    "copy " + table + " from stdin with (format csv)", new StringReader(rows.toString()));
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new SQLException("COPY into " + table + " failed: " + cause, cause);
        }
    }

    /** One CSV line: null as an empty field, everything else quoted. */
    private static String csv(Object... values) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                line.append(',');
            }
            if (values[i] != null) {
                line.append('"').append(values[i].toString().replace("\"", "\"\"")).append('"');
            }
        }
        return line.toString();
    }

    // ------------------------------------------------------------------ measuring

    private Map<String, double[]> measure(Connection db) throws Exception {
        Map<String, double[]> r = new LinkedHashMap<>();
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
        r.put("list, hostId, first page", list(i -> "hostId=" + HOSTS.get(i % HOSTS.size()) + "&size=" + size));
        r.put("list, guestId, first page", list(i -> "guestId=" + guests.get(ACTIVE + QUEUED + 1 + i % 500) + "&size=" + size));
        // deep pages: a cursor about 80 % down each list, taken once from a page asked for by number
        String deepAll = deepCursor("size=" + size);
        r.put("list, no filter, deep page (cursor)", list(i -> "size=" + size + "&after=" + deepAll));
        String deepStatus = deepCursor("status=completed&size=" + size);
        r.put("list, status=completed, deep page (cursor)", list(i -> "status=completed&size=" + size + "&after=" + deepStatus));
        List<String> deepHosts = new ArrayList<>();
        for (String h : HOSTS) {
            deepHosts.add(deepCursor("hostId=" + h + "&size=" + size));
        }
        r.put("list, hostId, deep page (cursor)", list(i -> "hostId=" + HOSTS.get(i % HOSTS.size()) + "&size=" + size
                + "&after=" + deepHosts.get(i % HOSTS.size())));
        UUID busy = guests.get(ACTIVE + QUEUED);
        String deepGuest = deepCursor("guestId=" + busy + "&size=" + size);
        r.put(deepGuest == null ? "(too few jobs of one guest for a deep page)" : "list, guestId (1 % of jobs), deep page (cursor)",
                deepGuest == null ? new double[] {0, 0, 0}
                        : list(i -> "guestId=" + busy + "&size=" + size + "&after=" + deepGuest));
        int deepNumber = (int) (getJson("/api/v1/migrations?page=0&size=" + size).get("totalItems").asLong() * 8 / 10 / size);
        r.put("list, no filter, deep page (page at 80 %, OFFSET)", list(i -> "size=" + size + "&page=" + deepNumber));
        r.put("list, status=completed, page=0 with count (compatibility)",
                list(i -> "status=completed&page=0&size=" + size));
        r.put("get by id", time(i -> ok(send("GET", "/api/v1/migrations/" + jobIds.get(random.nextInt(jobIds.size())), null))));
        List<String> created = new ArrayList<>();
        r.put("create (queued: every slot held)", time(i -> {
            int g = nextFreeGuest++;
            if (nextFreeGuest >= guests.size()) {
                nextFreeGuest = ACTIVE + QUEUED + 1;
            }
            String destination = HOSTS.get((HOSTS.indexOf(guestHosts.get(g)) + 1) % HOSTS.size());
            HttpResponse<String> reply = send("POST", "/api/v1/migrations",
                    Map.of("guestId", guests.get(g).toString(), "destinationHostId", destination));
            if (reply.statusCode() != 202) {
                throw new IllegalStateException("create: " + reply.statusCode() + " " + reply.body());
            }
            created.add(json.readTree(reply.body()).get("id").asString());
        }));
        int[] next = {0};
        r.put("cancel a queued job (frees its guest)", time(i -> {
            ok(send("POST", "/api/v1/migrations/" + created.get(next[0]++) + "/cancel", null));
        }, created.size() - warmup - samples >= 0 ? samples : created.size() - warmup));
        return r;
    }

    private String deepCursor(String query) throws Exception {
        long total = getJson("/api/v1/migrations?page=0&" + query).get("totalItems").asLong();
        int size = Integer.parseInt(query.replaceAll(".*size=(\\d+).*", "$1"));
        long page = Math.max(0, Math.min(total * 8 / 10 / size, (total - 1) / size - 1));
        JsonNode next = getJson("/api/v1/migrations?" + query + "&page=" + page).get("next");
        return next.isNull() ? null : URLEncoder.encode(next.asString(), StandardCharsets.US_ASCII);
    }

    private double[] list(IntFunction<String> query) throws Exception {
        return time(i -> ok(send("GET", "/api/v1/migrations?" + query.apply(i), null)));
    }

    private static void ok(HttpResponse<String> reply) {
        if (reply.statusCode() / 100 != 2) {
            throw new IllegalStateException("HTTP " + reply.statusCode() + ": " + reply.body());
        }
    }

    @FunctionalInterface
    private interface Op {
        void run(int i) throws Exception;
    }

    private double[] time(Op op) throws Exception {
        return time(op, samples);
    }

    /** {p50, p99, max} in ms of {@code n} timed runs after the warm-up ones. */
    private double[] time(Op op, int n) throws Exception {
        for (int i = 0; i < warmup; i++) {
            op.run(i);
        }
        long[] nanos = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            op.run(warmup + i);
            nanos[i] = System.nanoTime() - t;
        }
        Arrays.sort(nanos);
        return new double[] {nanos[(int) Math.ceil(n * 0.50) - 1] / 1e6, nanos[(int) Math.ceil(n * 0.99) - 1] / 1e6,
                nanos[n - 1] / 1e6};
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
                    + "where schemaname = '" + schema + "' and relname = 'migration_jobs'")) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)};
            }
        }
    }

    private void printTables(Map<Integer, Map<String, double[]>> results, Map<Integer, long[]> idle) {
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
        Map<String, Map<Integer, double[]>> byOp = new LinkedHashMap<>();
        results.forEach((n, ops) -> ops.forEach((op, v) -> byOp.computeIfAbsent(op, k -> new TreeMap<>()).put(n, v)));
        byOp.forEach((op, values) -> {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "| %-46s |", op));
            for (int n : sizes) {
                double[] v = values.get(n);
                line.append(v == null ? " - | - | - |"
                        : String.format(Locale.ROOT, " %.2f | %.2f | %.2f |", v[0], v[1], v[2]));
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
