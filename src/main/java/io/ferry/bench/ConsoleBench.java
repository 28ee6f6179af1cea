package io.ferry.bench;

import io.ferry.channel.MigrationProgress;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code console} part of {@code bench-control}: the web console's migrations page with 1 000
 * jobs on it, rendered by {@code ferry serve} from {@link JobSeeder}'s rows (every job that ran
 * carries a full set of figures, so each row draws its progress bar). Timed over HTTP on loopback
 * with the body read to its end: the first request after the start (cold: templates parsed,
 * classes loaded, caches empty) and the median and p99 of the next ones, next to the same 1 000
 * jobs through the JSON API in the same run (five pages of 200, its largest, by cursor).
 */
final class ConsoleBench {

    static final int PAGE = 1000;
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern CSRF = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"");

    private final PostgresSchema schema;
    private final int jobs;
    private final int samples;
    private final int warmup;

    ConsoleBench(PostgresSchema schema, int jobs, int samples, int warmup) {
        this.schema = schema;
        this.jobs = jobs;
        this.samples = samples;
        this.warmup = warmup;
    }

    /** Cold, p50, p99 (ms) of each of the two; and the page's size in bytes. */
    record Result(double pageCold, Quantiles page, double apiCold, Quantiles api, int pageBytes, int rows) {
    }

    Result run(boolean keep) throws Exception {
        List<String> options = new ArrayList<>(schema.serveOptions());
        options.addAll(List.of("--ferry.workers.launch=external", "--ferry.worker.heartbeat-timeout=24h"));
        try (LocalControlPlane plane = LocalControlPlane.start("console", LocalControlPlane.freePort(),
                LocalControlPlane.newToken(), options, 0, keep, ControlBenchmark::progress)) {
            Connection db = schema.connection();
            JobSeeder seeder = new JobSeeder(Math.max(200, JobSeeder.ACTIVE + JobSeeder.QUEUED + 10));
            seeder.seedHostsAndGuests(db);
            seeder.seedJobs(db, 0, jobs);
            try (PreparedStatement s = db.prepareStatement(
                    "update migration_jobs set progress = ? where status not in ('queued')")) {
                s.setString(1, JSON.writeValueAsString(figures()));
                ControlBenchmark.progress("%d jobs seeded, %d with figures", jobs, s.executeUpdate());
            }
            try (Statement s = db.createStatement()) {
                s.execute("vacuum analyze migration_jobs");
            }

            HttpClient browser = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .cookieHandler(new CookieManager()).followRedirects(HttpClient.Redirect.NEVER)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            signIn(browser, plane);
            String pagePath = "/console/migrations?size=" + PAGE;

            long t = System.nanoTime();
            String first = get(browser, plane.base() + pagePath);
            double pageCold = (System.nanoTime() - t) / 1e6;
            int rows = count(first, "data-job=\"") / 2;   // each row carries its job id twice (row, bar)
            if (rows != PAGE) {
                throw new IllegalStateException("the page shows " + rows + " jobs, not " + PAGE);
            }
            t = System.nanoTime();
            int apiRows = apiList(plane);
            double apiCold = (System.nanoTime() - t) / 1e6;
            if (apiRows != PAGE) {
                throw new IllegalStateException("the API listed " + apiRows + " jobs, not " + PAGE);
            }

            // alternate the two so load on the machine falls on both alike
            long[] page = new long[samples];
            long[] api = new long[samples];
            for (int i = 0; i < warmup + samples; i++) {
                long a = System.nanoTime();
                get(browser, plane.base() + pagePath);
                long b = System.nanoTime();
                apiList(plane);
                long c = System.nanoTime();
                if (i >= warmup) {
                    page[i - warmup] = b - a;
                    api[i - warmup] = c - b;
                }
            }
            return new Result(pageCold, Quantiles.of(page, 1e6), apiCold, Quantiles.of(api, 1e6),
                    first.getBytes(StandardCharsets.UTF_8).length, rows);
        }
    }

    /** The figures of a pre-copy in its third round, as a source reports them. */
    private static MigrationProgress figures() {
        MigrationProgress.Ram ram = new MigrationProgress.Ram(64L << 20, 150L << 20, 6L << 20, 1200, 38_000,
                38_000L * 4096, 2400, 812.5, 3, 24_000, 3);
        return new MigrationProgress(12, 2400, 40L, null, ram, new MigrationProgress.Disk(8L << 20, 8L << 20, 0),
                null, null, MigrationProgress.DataPlane.PLAIN, null);
    }

    private static void signIn(HttpClient browser, LocalControlPlane plane) throws Exception {
        String form = get(browser, plane.base() + "/console/login");
        Matcher csrf = CSRF.matcher(form);
        if (!csrf.find()) {
            throw new IllegalStateException("no CSRF token on the sign-in form");
        }
        HttpResponse<String> r = browser.send(HttpRequest.newBuilder(URI.create(plane.base() + "/console/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("token=" + enc(plane.token()) + "&_csrf=" + enc(csrf.group(1))))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 302 || !r.headers().firstValue("Location").orElse("").endsWith("/console")) {
            throw new IllegalStateException("console sign-in failed: " + r.statusCode() + " " + r.body());
        }
    }

    private static String get(HttpClient browser, String url) throws Exception {
        HttpResponse<String> r = browser.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + url + ": " + r.statusCode());
        }
        return r.body();
    }

    /** The newest 1 000 jobs through the API: pages of 200 by cursor. Returns how many it got. */
    private static int apiList(LocalControlPlane plane) {
        int n = 0;
        String after = null;
        while (n < PAGE) {
            JsonNode page = plane.get("/api/v1/migrations?size=200" + (after == null ? "" : "&after=" + enc(after)));
            n += page.get("items").size();
            if (page.get("next").isNull()) {
                break;
            }
            after = page.get("next").asString();
        }
        return n;
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static void print(Result r, int jobs, int samples, int warmup) {
        System.out.printf(Locale.ROOT, "%nbench-control console: the migrations page with %d jobs (%d in the database), "
                + "%d samples after %d warm-up, one client, HTTP/1.1 on loopback, body read; ms%n%n",
                r.rows(), jobs, samples, warmup);
        System.out.println("| request | cold | p50 | p99 | max |");
        System.out.println("|---|---:|---:|---:|---:|");
        System.out.printf(Locale.ROOT, "| console page, %d jobs (%,d bytes of HTML) | %.1f | %.1f | %.1f | %.1f |%n",
                r.rows(), r.pageBytes(), r.pageCold(), r.page().p50(), r.page().p99(), r.page().max());
        System.out.printf(Locale.ROOT, "| JSON API, the same %d jobs (5 pages of 200) | %.1f | %.1f | %.1f | %.1f |%n",
                PAGE, r.apiCold(), r.api().p50(), r.api().p99(), r.api().max());
    }
}
