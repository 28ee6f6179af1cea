package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.ApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Webhooks end to end: a receiver on loopback that refuses (500), then answers too late, then
 * recovers, while jobs move guests. Nothing may be lost, nothing reordered within a job, every
 * delivery must be signed, and the subscription must show the failures, then an empty backlog.
 * Back-off and timeouts are shortened so the whole story takes seconds.
 */
@TestPropertySource(properties = {
        "ferry.webhooks.retry.initial=100ms",
        "ferry.webhooks.retry.max=400ms",
        "ferry.webhooks.timeout=500ms",
        "ferry.webhooks.connect-timeout=500ms",
        "ferry.webhooks.poll-interval=50ms"
})
abstract class WebhookDeliveryTests extends ApiTestSupport {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String SECRET = "s3cret-for-the-loopback-receiver";

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    ApplicationContext context;

    private Receiver receiver;

    @BeforeEach
    void startReceiver() throws IOException {
        receiver = new Receiver();
    }

    @AfterEach
    void stopReceiver() {
        receiver.close();
        api.get("/api/v1/subscriptions").json()
                .forEach(s -> api.delete("/api/v1/subscriptions/" + s.get("id").asString()));
    }

    // ---- delivery ----------------------------------------------------------------------------

    @Test
    void aReceiverThatFailsThenIsSlowThenRecoversGetsEveryEventOnceSignedAndInOrderPerJob() {
        long before = maxEventId();
        String subscriptionId = subscribe(receiver.url(), List.of("job", "guest"));

        receiver.mode(Mode.FAIL);
        String guestA = createGuest("host-a", 16 * MIB);
        String guestB = createGuest("host-a", 16 * MIB);
        String jobA = createJob(guestA, "host-b");
        String jobB = createJob(guestB, "host-b");
        awaitStatus(jobA, "completed");
        awaitStatus(jobB, "completed");

        // refused: the subscription shows the failures and a backlog, nothing was taken
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode delivery = subscription(subscriptionId).get("delivery");
            assertThat(delivery.get("consecutiveFailures").asInt()).isGreaterThanOrEqualTo(3);
            assertThat(delivery.get("lastError").asString()).contains("HTTP 500");
            assertThat(delivery.get("backlog").asLong()).isPositive();
            assertThat(delivery.get("lastSuccessAt").isNull()).isTrue();
        });
        assertThat(receiver.accepted()).isEmpty();

        // the dispatcher stops (as in a restart): the backlog is kept in the database
        SmartLifecycle dispatcher = context.getBean("webhookDispatcher", SmartLifecycle.class);
        dispatcher.stop();
        long kept = subscription(subscriptionId).get("delivery").get("backlog").asLong();
        assertThat(kept).isPositive();
        receiver.mode(Mode.SLOW);
        int attemptsBeforeSlow = receiver.attempts().size();
        dispatcher.start();

        // too slow: the attempts time out and count as failures
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(receiver.attempts().size() - attemptsBeforeSlow).isGreaterThanOrEqualTo(2);
            assertThat(subscription(subscriptionId).get("delivery").get("lastError").asString()).contains("no answer");
        });
        receiver.mode(Mode.OK);

        // recovered: every matching event arrives, the backlog drains
        Set<String> jobs = Set.of(jobA, jobB);
        Set<String> guests = Set.of(guestA, guestB);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            List<Long> expected = jdbc.queryForList("select id from event_log where id > ? and type in ('JOB', 'GUEST') "
                            + "and (cast(job_id as varchar(36)) in (?, ?) or cast(guest_id as varchar(36)) in (?, ?)) "
                            + "order by id", Long.class, before, jobA, jobB, guestA, guestB);
            assertThat(expected).isNotEmpty();
            assertThat(receiver.acceptedIds()).containsAll(expected);
            JsonNode delivery = subscription(subscriptionId).get("delivery");
            assertThat(delivery.get("backlog").asLong()).isZero();
            assertThat(delivery.get("consecutiveFailures").asInt()).isZero();
            assertThat(delivery.get("lastSuccessAt").isNull()).isFalse();
        });

        List<Request> attempts = receiver.attempts();
        assertThat(attempts).allSatisfy(r -> {
            assertThat(r.signatureValid()).as("signature of event %s", r.eventId()).isTrue();
            assertThat(r.timestamp()).isBetween(Instant.now().minusSeconds(120).getEpochSecond(),
                    Instant.now().getEpochSecond() + 1);
            assertThat(r.body().get("id").asLong()).isEqualTo(r.eventId());
            assertThat(r.subscriptionId()).isEqualTo(subscriptionId);
            assertThat(r.body().get("type").asString()).isIn("job", "guest");
        });
        assertThat(attempts.stream().filter(r -> r.outcome() == Mode.FAIL)).hasSizeGreaterThanOrEqualTo(3);
        assertThat(attempts.stream().filter(r -> r.outcome() == Mode.SLOW)).hasSizeGreaterThanOrEqualTo(2);
        // once taken, never sent again: each accepted event was accepted once
        assertThat(receiver.acceptedIds()).doesNotHaveDuplicates();

        // in order per job: no attempt of an event before every earlier event of its job was taken
        Map<String, List<Long>> acceptedPerJob = new HashMap<>();
        for (Request r : receiver.accepted()) {
            String job = r.body().path("jobId").asString(null);
            if (job != null) {
                acceptedPerJob.computeIfAbsent(job, j -> new ArrayList<>()).add(r.eventId());
            }
        }
        for (Request attempt : attempts) {
            String job = attempt.body().path("jobId").asString(null);
            if (job == null || !jobs.contains(job)) {
                continue;
            }
            for (Request taken : receiver.accepted()) {
                if (job.equals(taken.body().path("jobId").asString(null)) && taken.eventId() < attempt.eventId()) {
                    assertThat(taken.sequence()).as("event %s of job %s was taken before %s was tried",
                            taken.eventId(), job, attempt.eventId()).isLessThan(attempt.sequence());
                }
            }
        }
        for (String job : jobs) {
            assertThat(acceptedPerJob.get(job)).as("job %s", job).isSorted();
            // the same facts as the job's timeline, in its order
            List<String> delivered = receiver.accepted().stream()
                    .filter(r -> job.equals(r.body().path("jobId").asString(null)))
                    .filter(r -> r.body().get("type").asString().equals("job"))
                    .filter(r -> r.body().get("payload").get("kind").asString().equals("transition"))
                    .map(r -> r.body().get("payload").get("to").asString()).toList();
            assertThat(delivered).containsExactlyElementsOf(transitions(job)).endsWith("completed");
        }
        assertThat(receiver.accepted().stream().map(r -> r.body().path("guestId").asString(null)))
                .as("only the subscribed types' events of these guests, or of nothing older")
                .anyMatch(guests::contains);

        String metrics = api.withToken(null).get("/actuator/prometheus").body();
        assertThat(metrics).contains("ferry_webhooks_backlog").containsPattern(
                "ferry_webhooks_deliveries_total\\{[^}]*outcome=\"http-error\"[^}]*} [1-9]")
                .containsPattern("ferry_webhooks_deliveries_total\\{[^}]*outcome=\"timeout\"[^}]*} [1-9]")
                .containsPattern("ferry_webhooks_deliveries_total\\{[^}]*outcome=\"success\"[^}]*} [1-9]");
    }

    @Test
    void aFilteredSubscriptionGetsOnlyItsGuestsJobEventsAndADeletedOneGetsNothingMore() throws InterruptedException {
        String guest = createGuest("host-a", 16 * MIB);
        String other = createGuest("host-a", 16 * MIB);
        receiver.mode(Mode.OK);
        String subscriptionId = subscribe(receiver.url(), List.of("job"), Map.of("guestId", guest));
        String jobId = createJob(guest, "host-b");
        String otherJob = createJob(other, "host-b");
        awaitStatus(jobId, "completed");
        awaitStatus(otherJob, "completed");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(receiver.accepted().stream()
                .map(r -> r.body().get("payload").path("to").asString(""))).contains("completed"));
        assertThat(receiver.accepted()).allSatisfy(r -> {
            assertThat(r.body().get("type").asString()).isEqualTo("job");
            assertThat(r.body().get("jobId").asString()).isEqualTo(jobId);
            assertThat(r.body().get("guestId").asString()).isEqualTo(guest);
        });

        assertThat(api.delete("/api/v1/subscriptions/" + subscriptionId).status()).isEqualTo(204);
        assertThat(api.get("/api/v1/subscriptions/" + subscriptionId).status()).isEqualTo(404);
        int seen = receiver.attempts().size();
        String back = createJob(guest, "host-a");   // would match the deleted subscription
        awaitStatus(back, "completed");
        Thread.sleep(1000);   // twenty dispatch passes
        assertThat(receiver.attempts()).hasSize(seen);
    }

    @Autowired
    io.ferry.control.events.EventRecorder eventRecorder;
    @Autowired
    org.springframework.transaction.PlatformTransactionManager transactions;

    /**
     * An event whose transaction commits after the fan-out moved past its id (longer than the
     * hole grace) still reaches the subscription, once: late, not never.
     */
    @Test
    void anEventThatCommitsAfterTheFanOutPassedItsIdIsDeliveredLateNotNever() throws Exception {
        String guest = createGuest("host-a", 16 * MIB);
        receiver.mode(Mode.OK);
        subscribe(receiver.url(), List.of("guest"), Map.of("guestId", guest));
        SlowEventTransaction slow = new SlowEventTransaction(transactions, eventRecorder, guest);
        assertThat(api.post("/api/v1/guests/" + guest + "/pause", null).status()).isEqualTo(200);
        long paused = await().atMost(Duration.ofSeconds(30)).until(() -> receiver.accepted().stream()
                .filter(r -> r.body().get("payload").path("state").asString("").equals("paused"))
                .mapToLong(r -> r.body().get("id").asLong()).findFirst().orElse(-1), id -> id > 0);
        slow.commit();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(receiver.accepted())
                .anySatisfy(r -> {
                    assertThat(r.body().get("payload").path("change").asString("")).isEqualTo("state");
                    assertThat(r.body().get("payload").path("state").asString("")).isEqualTo("running");
                    assertThat(r.body().get("id").asLong()).isLessThan(paused);
                }));
        assertThat(receiver.acceptedIds()).doesNotHaveDuplicates();
    }

    // ---- the resource and its validation -----------------------------------------------------

    @Test
    void aSubscriptionIsListedWithItsFilterAndStateButNeverItsSecret() {
        ApiClient.Reply created = api.post("/api/v1/subscriptions", Map.of("url", receiver.url(), "secret", SECRET,
                "description", "orchestrator", "filter", Map.of("types", List.of("job", "host"), "hostId", "host-a")));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = created.json().get("id").asString();
        assertThat(created.header("Location")).isEqualTo("/api/v1/subscriptions/" + id);
        assertThat(created.body()).doesNotContain(SECRET).doesNotContain("secret");
        JsonNode filter = created.json().get("filter");
        assertThat(filter.get("types").valueStream().map(JsonNode::asString)).containsExactly("job", "host");
        assertThat(filter.get("hostId").asString()).isEqualTo("host-a");
        assertThat(filter.get("jobId").isNull()).isTrue();
        JsonNode delivery = created.json().get("delivery");
        assertThat(delivery.get("backlog").asLong()).isZero();
        assertThat(delivery.get("consecutiveFailures").asInt()).isZero();

        ApiClient.Reply list = api.get("/api/v1/subscriptions");
        assertThat(list.body()).doesNotContain(SECRET);
        assertThat(list.json().findValuesAsString("id")).contains(id);
        assertThat(api.get("/api/v1/subscriptions/" + id).json().get("url").asString()).isEqualTo(receiver.url());
        assertThat(api.delete("/api/v1/subscriptions/" + id).status()).isEqualTo(204);
        assertThat(api.delete("/api/v1/subscriptions/" + id).status()).isEqualTo(404);
    }

    @Test
    void badSubscriptionsAreRefusedWith400NamingTheField() {
        Map<String, Map<String, Object>> bad = new LinkedHashMap<>();
        bad.put("url: must be an absolute URL", body("/relative", SECRET));
        bad.put("url: must use http or https, not 'ftp'", body("ftp://127.0.0.1/hook", SECRET));
        bad.put("url: must not contain credentials", body("http://user:pw@127.0.0.1/hook", SECRET));
        bad.put("url: must name a host", body("http:///hook", SECRET));
        bad.put("url: is not a valid URL", body("http://127.0.0.1/a b", SECRET));
        bad.put("url must not be blank", body("", SECRET));
        bad.put("secret size must be between 16 and 256", body("http://127.0.0.1/hook", "short"));
        bad.put("secret: must not be blank", body("http://127.0.0.1/hook", " ".repeat(20)));
        Map<String, Object> noSecret = new HashMap<>(body("http://127.0.0.1/hook", SECRET));
        noSecret.remove("secret");
        bad.put("secret must not be null", noSecret);
        Map<String, Object> unknownType = new HashMap<>(body("http://127.0.0.1/hook", SECRET));
        unknownType.put("filter", Map.of("types", List.of("job", "jobs")));
        bad.put("filter.types[1]: unknown event type 'jobs'", unknownType);
        bad.forEach((detail, request) -> {
            ApiClient.Reply reply = api.post("/api/v1/subscriptions", request);
            assertThat(reply.status()).as(detail).isEqualTo(400);
            assertThat(reply.contentType()).startsWith("application/problem+json");
            assertThat(reply.json().get("detail").asString()).as(reply.body()).contains(detail);
        });

        ApiClient.Reply misspelt = api.postRaw("/api/v1/subscriptions",
                "{\"url\":\"http://127.0.0.1/hook\",\"secret\":\"" + SECRET + "\",\"filter\":{\"job\":\"x\"}}");
        assertThat(misspelt.status()).isEqualTo(400);
        assertThat(misspelt.json().get("detail").asString()).contains("job");
        ApiClient.Reply notUuid = api.postRaw("/api/v1/subscriptions",
                "{\"url\":\"http://127.0.0.1/hook\",\"secret\":\"" + SECRET + "\",\"filter\":{\"jobId\":\"nope\"}}");
        assertThat(notUuid.status()).isEqualTo(400);

        assertThat(api.get("/api/v1/subscriptions/" + UUID.randomUUID()).status()).isEqualTo(404);
        assertThat(api.get("/api/v1/subscriptions/not-a-uuid").status()).isEqualTo(400);
        assertThat(api.delete("/api/v1/subscriptions/" + UUID.randomUUID()).status()).isEqualTo(404);
        assertThat(api.withToken(null).get("/api/v1/subscriptions").status()).isEqualTo(401);
        assertThat(api.get("/api/v1/subscriptions").json()).isEmpty();
    }

    // ---- fixtures --------------------------------------------------------------------------

    private static Map<String, Object> body(String url, String secret) {
        return Map.of("url", url, "secret", secret);
    }

    private String subscribe(String url, List<String> types) {
        return subscribe(url, types, Map.of());
    }

    private String subscribe(String url, List<String> types, Map<String, Object> more) {
        Map<String, Object> filter = new HashMap<>(more);
        filter.put("types", types);
        ApiClient.Reply created = api.post("/api/v1/subscriptions", Map.of("url", url, "secret", SECRET, "filter", filter));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    private JsonNode subscription(String id) {
        return api.get("/api/v1/subscriptions/" + id).json();
    }

    private long maxEventId() {
        Long max = jdbc.queryForObject("select coalesce(max(id), 0) from event_log", Long.class);
        return max == null ? 0 : max;
    }

    enum Mode { FAIL, SLOW, OK }

    /** One request as the receiver saw it; {@code sequence} orders arrivals and acceptances together. */
    record Request(long sequence, Mode outcome, long eventId, String subscriptionId, long timestamp,
                   boolean signatureValid, JsonNode body) {
    }

    /** A webhook receiver on 127.0.0.1 whose behaviour the test switches; it checks signatures itself. */
    static final class Receiver implements AutoCloseable {

        private final HttpServer server;
        private final ExecutorService threads = Executors.newFixedThreadPool(8);
        private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.OK);
        private final AtomicLong sequence = new AtomicLong();
        private final List<Request> attempts = new ArrayList<>();
        /** Requests answered 2xx in time, in the order they were taken (sequence taken when answering). */
        private final List<Request> accepted = new ArrayList<>();

        Receiver() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/hook", this::handle);
            server.setExecutor(threads);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
        }

        void mode(Mode next) {
            mode.set(next);
        }

        synchronized List<Request> attempts() {
            return List.copyOf(attempts);
        }

        synchronized List<Request> accepted() {
            return List.copyOf(accepted);
        }

        List<Long> acceptedIds() {
            return accepted().stream().map(Request::eventId).toList();
        }

        private void handle(HttpExchange exchange) throws IOException {
            byte[] raw;
            try (InputStream in = exchange.getRequestBody()) {
                raw = in.readAllBytes();
            }
            String body = new String(raw, StandardCharsets.UTF_8);
            String timestamp = exchange.getRequestHeaders().getFirst("Ferry-Timestamp");
            String signature = exchange.getRequestHeaders().getFirst("Ferry-Signature");
            boolean valid = exchange.getRequestMethod().equals("POST")
                    && ("sha256=" + hmac(SECRET, timestamp + "." + body)).equals(signature)
                    && exchange.getRequestHeaders().getFirst("Content-Type").startsWith("application/json");
            Mode now = mode.get();
            Request request = new Request(sequence.incrementAndGet(), now,
                    Long.parseLong(exchange.getRequestHeaders().getFirst("Ferry-Event-Id")),
                    exchange.getRequestHeaders().getFirst("Ferry-Subscription-Id"), Long.parseLong(timestamp), valid,
                    JSON.readTree(body));
            synchronized (this) {
                attempts.add(request);
            }
            try {
                switch (now) {
                    case FAIL -> exchange.sendResponseHeaders(500, -1);
                    case SLOW -> {
                        Thread.sleep(1500);   // three times Ferry's timeout: it has given up by now
                        exchange.sendResponseHeaders(200, -1);
                    }
                    case OK -> {
                        synchronized (this) {
                            accepted.add(new Request(sequence.incrementAndGet(), now, request.eventId(),
                                    request.subscriptionId(), request.timestamp(), valid, request.body()));
                        }
                        exchange.sendResponseHeaders(204, -1);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException gone) {
                // the sender gave up on a slow answer
            } finally {
                exchange.close();
            }
        }

        private static String hmac(String secret, String text) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
                return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
        }
    }
}
