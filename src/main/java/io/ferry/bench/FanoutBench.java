package io.ferry.bench;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Part 3 of {@code bench-control}: the event stream's fan-out. One {@code ferry serve} with two
 * local workers on a fresh schema; guests paused and resumed through the API at a steady rate (each
 * call one {@code guest} event); first one subscriber to {@code GET /api/v1/events} (the baseline),
 * then many at once. Each subscriber reads its stream's lines on a thread of its own and notes,
 * for every event the rate produced, when it arrived against the event's own {@code at}
 * (same machine, same clock); the log's rows are the count every subscriber should have seen.
 */
final class FanoutBench {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final List<String> HOSTS = List.of("host-a", "host-b");
    private static final int GUESTS = 10;

    /** One round: what the API produced, and what its subscribers received of it. */
    record Round(int subscribers, int events, int idHoles, double seconds, long delivered, long fewestReceived,
                 Quantiles lagMs) {
    }

    private final PostgresSchema schema;
    private final int subscribers;
    private final int rate;
    private final int seconds;
    private final boolean keep;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    /** Calls made per guest in earlier rounds: an odd count left the guests paused. */
    private long callsPerGuest;

    FanoutBench(PostgresSchema schema, int subscribers, int rate, int seconds, boolean keep) {
        this.schema = schema;
        this.subscribers = subscribers;
        this.rate = rate;
        this.seconds = seconds;
        this.keep = keep;
    }

    List<Round> run() throws Exception {
        List<String> options = new ArrayList<>(schema.serveOptions());
        options.addAll(LocalControlPlane.localWorkers(HOSTS, 1L << 30));
        try (LocalControlPlane plane = LocalControlPlane.start("fanout", LocalControlPlane.freePort(),
                LocalControlPlane.newToken(), options, HOSTS.size(), keep, ControlBenchmark::progress)) {
            List<String> guests = new ArrayList<>();
            for (int i = 0; i < GUESTS; i++) {
                guests.add(plane.createGuest(Map.of("name", "fanout-" + i, "hostId", HOSTS.get(i % HOSTS.size()),
                        "memoryBytes", 16L << 20, "disks", List.of(Map.of("name", "root", "sizeBytes", 4L << 20)))));
            }
            Connection db = schema.connection();
            List<Round> rounds = new ArrayList<>();
            for (int n : List.of(1, subscribers)) {
                rounds.add(round(plane, db, guests, n));
            }
            return rounds;
        }
    }

    private Round round(LocalControlPlane plane, Connection db, List<String> guests, int n) throws Exception {
        List<Subscriber> subs = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                subs.add(new Subscriber(plane, i));
            }
            for (Subscriber s : subs) {
                if (!s.connected.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("subscriber " + s.index + " got no stream within 30 s");
                }
            }
            long first = events(db, -1, 0);
            long start = System.nanoTime();
            generate(plane, guests, start);
            double took = (System.nanoTime() - start) / 1e9;
            long last = events(db, -1, 0);
            Thread.sleep(3000);   // the stragglers
            long events = events(db, first, last);
            long delivered = 0;
            long fewest = Long.MAX_VALUE;
            List<Long> lags = new ArrayList<>();
            for (Subscriber s : subs) {
                long got = s.received(first, last, lags);
                delivered += got;
                fewest = Math.min(fewest, got);
            }
            ControlBenchmark.progress("%d subscriber(s): %d events in %.1f s, %d delivered", n, events, took, delivered);
            return new Round(n, (int) events, (int) (last - first - events), took, delivered, fewest,
                    Quantiles.of(lags.stream().mapToLong(Long::longValue).toArray(), 1000));
        } finally {
            subs.forEach(Subscriber::close);
        }
    }

    /**
     * Pauses and resumes the guests, {@link #rate} calls a second in all for {@link #seconds} from
     * {@code start}: a thread per guest, so that a slow call does not hold back the others.
     */
    private void generate(LocalControlPlane plane, List<String> guests, long start) throws Exception {
        long perGuest = (long) rate * seconds / guests.size();
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int k = 0; k < guests.size(); k++) {
            int guest = k;
            Thread t = new Thread(() -> {
                try {
                    for (long j = 0; j < perGuest; j++) {
                        long wait = start + (j * guests.size() + guest) * 1_000_000_000L / rate - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        }
                        boolean pause = (callsPerGuest + j) % 2 == 0;
                        plane.send("POST", "/api/v1/guests/" + guests.get(guest) + (pause ? "/pause" : "/resume"),
                                null).expect(200);
                    }
                } catch (InterruptedException | RuntimeException e) {
                    errors.add(e);
                }
            }, "fanout-generator-" + k);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        callsPerGuest += perGuest;
        if (!errors.isEmpty()) {
            throw new IllegalStateException("pause/resume failed: " + errors.get(0), errors.get(0));
        }
    }

    /** The last id in the log now, or (with {@code after}) how many rows follow {@code after} up to {@code through}. */
    private static long events(Connection db, long after, long through) throws SQLException {
        String query = after < 0 ? "select coalesce(max(id), 0) from event_log"
                : "select count(*) from event_log where id > " + after + " and id <= " + through;
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** One stream of {@code /api/v1/events}, read line by line on a daemon thread of its own. */
    private final class Subscriber {

        private final int index;
        private final CountDownLatch connected = new CountDownLatch(1);
        private final List<long[]> seen = new ArrayList<>();   // {id, lag in µs}
        private volatile HttpResponse<Stream<String>> response;

        Subscriber(LocalControlPlane plane, int index) {
            this.index = index;
            HttpRequest request = HttpRequest.newBuilder(URI.create(plane.base() + "/api/v1/events")).GET()
                    .header("Accept", "text/event-stream").header("Authorization", "Bearer " + plane.token()).build();
            Thread reader = new Thread(() -> read(request), "fanout-subscriber-" + index);
            reader.setDaemon(true);
            reader.start();
        }

        private void read(HttpRequest request) {
            long id = -1;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofLines());
                try (Stream<String> lines = response.body()) {
                    for (String line : (Iterable<String>) lines::iterator) {
                        if (line.startsWith(":")) {
                            connected.countDown();
                        } else if (line.startsWith("id:")) {
                            id = Long.parseLong(line.substring(3).strip());
                        } else if (line.startsWith("data:")) {
                            Instant now = Instant.now();
                            JsonNode at = JSON.readTree(line.substring(5)).path("at");
                            Instant when = at.isNumber() ? instant(at.decimalValue()) : Instant.parse(at.asString());
                            long lagMicros = (now.getEpochSecond() - when.getEpochSecond()) * 1_000_000
                                    + (now.getNano() - when.getNano()) / 1000;
                            synchronized (seen) {
                                seen.add(new long[] {id, lagMicros});
                            }
                        }
                    }
                }
            } catch (IOException | RuntimeException closed) {
                // closed at the end of the round
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static Instant instant(BigDecimal epochSeconds) {
            return Instant.ofEpochSecond(epochSeconds.longValue(),
                    epochSeconds.remainder(BigDecimal.ONE).movePointRight(9).longValue());
        }

        /** How many events of ({@code after}, {@code through}] arrived; their lags (µs) go to {@code lags}. */
        long received(long after, long through, List<Long> lags) {
            long count = 0;
            synchronized (seen) {
                for (long[] e : seen) {
                    if (e[0] > after && e[0] <= through) {
                        count++;
                        lags.add(e[1]);
                    }
                }
            }
            return count;
        }

        void close() {
            HttpResponse<Stream<String>> r = response;
            if (r != null) {
                r.body().close();
            }
        }
    }

    static void print(List<Round> rounds, int rate) {
        System.out.printf("%nSSE fan-out: guests paused and resumed through the API at %d calls/s (one guest event "
                + "each), subscribers on one replica (HTTP/1.1, one stream each, JDK HttpClient); lag = receipt − the "
                + "event's own `at`; the first row is the baseline; ids skipped: ids of the log never committed (each "
                + "holds the feed back up to ferry.events.hole-grace, 1 s)%n%n", rate);
        System.out.println("| subscribers | events produced | produced/s | delivered/s, total | delivered/s, per "
                + "subscriber | fewest received by one | lag p50 ms | lag p99 ms | lag max ms | ids skipped |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Round r : rounds) {
            System.out.printf(Locale.ROOT, "| %d | %d | %.1f | %.1f | %.1f | %d of %d | %.1f | %.1f | %.1f | %d |%n",
                    r.subscribers(), r.events(), r.events() / r.seconds(), r.delivered() / r.seconds(),
                    r.delivered() / r.seconds() / r.subscribers(), r.fewestReceived(), r.events(), r.lagMs().p50(),
                    r.lagMs().p99(), r.lagMs().max(), r.idHoles());
        }
    }
}
