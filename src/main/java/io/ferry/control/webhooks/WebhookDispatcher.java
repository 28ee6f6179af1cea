package io.ferry.control.webhooks;

import io.ferry.control.events.EventFeed;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Drains the outbox: one dispatcher thread per replica feeds the outbox from the event log and
 * claims due rows; a bounded pool sends them (JDK HttpClient, connect and request timeouts).
 *
 * <p>Each pass: fan out new events to every subscription, then claim as many due heads as
 * there are free senders. A sender that finishes wakes the dispatcher at once, so the next
 * event of the same job goes out without waiting for the poll interval.
 */
@Component
class WebhookDispatcher implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(WebhookDispatcher.class);

    private final WebhookOutbox outbox;
    private final EventFeed feed;
    private final Clock clock;
    private final RetrySchedule retries;
    private final Duration requestTimeout;
    private final Duration pollInterval;
    /** How long a claim holds: a request may take the connect plus the request timeout. */
    private final Duration lease;
    private final int senders;
    private final HttpClient http;
    /** This replica's name on its claims. */
    private final String replica = "replica-" + UUID.randomUUID();

    private final Semaphore freeSenders;
    /** Released by a sender that finished, or a fan-out that left work behind: run the next pass now. */
    private final Semaphore wake = new Semaphore(0);
    private final AtomicLong backlog = new AtomicLong();
    private final Map<String, Counter> outcomes;
    private final AtomicInteger threads = new AtomicInteger();
    private ExecutorService pool;
    private Thread dispatcher;
    private volatile boolean running;
    /** When the backlog gauge was last read from the database; the dispatcher thread's alone. */
    private long backlogReadAt;

    WebhookDispatcher(WebhookOutbox outbox, EventFeed feed, Clock clock, MeterRegistry meters,
                      @Value("${ferry.webhooks.retry.initial:1s}") Duration retryInitial,
                      @Value("${ferry.webhooks.retry.max:60s}") Duration retryMax,
                      @Value("${ferry.webhooks.connect-timeout:2s}") Duration connectTimeout,
                      @Value("${ferry.webhooks.timeout:10s}") Duration requestTimeout,
                      @Value("${ferry.webhooks.poll-interval:200ms}") Duration pollInterval,
                      @Value("${ferry.webhooks.senders:4}") int senders) {
        this.outbox = outbox;
        this.feed = feed;
        feed.onLate(late -> outbox.fanOutLate(late, clock.instant()));
        this.clock = clock;
        this.retries = new RetrySchedule(retryInitial, retryMax);
        this.requestTimeout = requestTimeout;
        this.pollInterval = pollInterval;
        this.lease = connectTimeout.plus(requestTimeout).plusSeconds(5);
        this.senders = Math.max(1, senders);
        this.freeSenders = new Semaphore(this.senders);
        this.http = HttpClient.newBuilder()
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)   // a redirect is a failure: the receiver must fix its URL
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        Gauge.builder("ferry.webhooks.backlog", backlog, AtomicLong::get)
                .description("Events waiting to be delivered to webhook subscriptions").register(meters);
        this.outcomes = Map.of(
                "success", counter(meters, "success"),
                "http-error", counter(meters, "http-error"),
                "timeout", counter(meters, "timeout"),
                "io-error", counter(meters, "io-error"));
    }

    private static Counter counter(MeterRegistry meters, String outcome) {
        return Counter.builder("ferry.webhooks.deliveries").tag("outcome", outcome)
                .description("Webhook delivery attempts by outcome").register(meters);
    }

    @Override
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        pool = Executors.newFixedThreadPool(senders, r -> {
            Thread t = new Thread(r, "webhook-sender-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        dispatcher = new Thread(this::run, "webhook-dispatcher");
        dispatcher.setDaemon(true);
        dispatcher.start();
    }

    /** Stops claiming; a delivery cut off here keeps its row (its claim expires, then it is sent again). */
    @Override
    public synchronized void stop() {
        running = false;
        if (dispatcher != null) {
            dispatcher.interrupt();
            pool.shutdownNow();
            try {
                dispatcher.join(TimeUnit.SECONDS.toMillis(5));
                pool.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            dispatcher = null;
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private void run() {
        while (running) {
            try {
                pass();
            } catch (RuntimeException e) {
                log.warn("webhooks: a dispatch pass failed, trying again: {}", e.toString());
            }
            try {
                wake.tryAcquire(pollInterval.toMillis(), TimeUnit.MILLISECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void pass() {
        Instant now = clock.instant();
        long head = feed.head();
        for (WebhookOutbox.Cursor cursor : outbox.cursors()) {
            if (cursor.fannedThrough() < head && outbox.fanOut(cursor, feed, now) == WebhookOutbox.PAGE) {
                wake.release();   // more to copy: come back at once
            }
        }
        if (System.nanoTime() - backlogReadAt > TimeUnit.SECONDS.toNanos(1)) {
            backlog.set(outbox.backlog());
            backlogReadAt = System.nanoTime();
        }
        int free = freeSenders.availablePermits();
        if (free == 0) {
            return;
        }
        for (WebhookOutbox.Row row : outbox.due(now, free)) {
            if (!running || !freeSenders.tryAcquire()) {
                return;
            }
            if (!outbox.claim(row, replica, now, now.plus(lease))) {
                freeSenders.release();   // another replica has it
                continue;
            }
            pool.execute(() -> {
                try {
                    send(row);
                } finally {
                    freeSenders.release();
                    wake.release();
                }
            });
        }
    }

    private void send(WebhookOutbox.Row row) {
        long timestamp = clock.instant().getEpochSecond();
        HttpRequest request = HttpRequest.newBuilder(row.url())
                .timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .header("User-Agent", "Ferry-Webhooks/1")
                .header(WebhookSigner.EVENT_ID_HEADER, Long.toString(row.eventId()))
                .header(WebhookSigner.SUBSCRIPTION_HEADER, row.subscriptionId().toString())
                .header(WebhookSigner.TIMESTAMP_HEADER, Long.toString(timestamp))
                .header(WebhookSigner.SIGNATURE_HEADER, WebhookSigner.sign(row.secret(), timestamp, row.body()))
                .POST(HttpRequest.BodyPublishers.ofString(row.body(), StandardCharsets.UTF_8))
                .build();
        String outcome;
        String error;
        try {
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                outbox.delivered(row, replica, clock.instant());
                outcomes.get("success").increment();
                return;
            }
            outcome = "http-error";
            error = "HTTP " + status + " from " + row.url();
        } catch (HttpConnectTimeoutException e) {
            outcome = "timeout";
            error = "could not connect to " + row.url() + " within the connect timeout";
        } catch (HttpTimeoutException e) {
            outcome = "timeout";
            error = "no answer from " + row.url() + " within " + requestTimeout;
        } catch (IOException e) {
            outcome = "io-error";
            error = e.getClass().getSimpleName() + " sending to " + row.url()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;   // shutting down: the claim expires and the row is sent again
        }
        outcomes.get(outcome).increment();
        Instant now = clock.instant();
        Instant retryAt = now.plus(retries.delayAfter(row.attempts() + 1));
        log.info("webhooks: event {} to subscription {} failed (attempt {}), retrying at {}: {}", row.eventId(),
                row.subscriptionId(), row.attempts() + 1, retryAt, error);
        outbox.failed(row, replica, now, retryAt, error);
    }
}
