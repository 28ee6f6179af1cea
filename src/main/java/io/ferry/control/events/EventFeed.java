package io.ferry.control.events;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Follows the event log and hands each subscriber the rows it asked for, in id order.
 *
 * <p>One follower thread per replica reads the rows after {@link #head} every poll interval (so
 * it also sees rows other replicas wrote to a shared PostgreSQL) and offers them to every
 * subscriber that is level with it. A subscriber behind it — resuming from a Last-Event-ID, or
 * whose buffer had no room — first reads its own pages from the table, only while its buffer has
 * room for a page, so a replay never needs more memory than the buffer.
 *
 * <p>Ids are handed out at insert but become visible at commit, so id 10 may commit after id 11.
 * The follower therefore stops at a hole in the ids until the hole is {@code hole-grace} old
 * (then the transaction that held those ids is taken to have rolled back): a subscriber never
 * skips an event that commits late within that time. The ids it passed over are watched for
 * {@code late-window} after that: one that commits after all is handed to the streams already
 * past it as a late event and to the {@link #onLate} listeners (webhooks), counted in
 * {@code ferry_events_late_total} and logged, so a slow transaction delays its event, never
 * loses it. A subscriber still behind it reads it from the table in order.
 */
@Component
public class EventFeed implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EventFeed.class);
    private static final int PAGE = 500;
    /** A bound on the ids watched for a late commit (a huge hole is a sequence jump, not transactions). */
    private static final int MAX_PASSED_OVER = 10_000;

    private final EventLogRepository events;
    private final JdbcTemplate jdbc;
    private final int bufferSize;
    private final Duration pollInterval;
    private final long holeGraceNanos;
    private final Set<Subscription> subscriptions = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService follower = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "event-feed");
        t.setDaemon(true);
        return t;
    });

    /** The highest id delivered to level subscribers; written by the follower thread only. */
    private volatile long head;
    /** First id of each hole in the log → when the follower first saw it (nanoTime); follower thread only. */
    private final Map<Long, Long> holes = new HashMap<>();
    /** Ids passed over as rolled back → when (nanoTime), watched for a late commit; follower thread only. */
    private final Map<Long, Long> passedOver = new LinkedHashMap<>();
    private final long lateWindowNanos;
    private final Counter late;
    private final List<Consumer<List<EventLog>>> lateListeners = new CopyOnWriteArrayList<>();

    EventFeed(EventLogRepository events, JdbcTemplate jdbc, MeterRegistry meters,
              @Value("${ferry.events.buffer:1000}") int bufferSize,
              @Value("${ferry.events.poll-interval:200ms}") Duration pollInterval,
              @Value("${ferry.events.hole-grace:1s}") Duration holeGrace,
              @Value("${ferry.events.late-window:10m}") Duration lateWindow) {
        this.events = events;
        this.jdbc = jdbc;
        this.bufferSize = Math.max(bufferSize, PAGE + 1);
        this.pollInterval = pollInterval;
        this.holeGraceNanos = holeGrace.toNanos();
        this.lateWindowNanos = lateWindow.toNanos();
        this.late = Counter.builder("ferry.events.late")
                .description("Events that committed after the feed had passed over their ids as rolled back")
                .register(meters);
        this.head = events.maxId();   // here, not in start(): the web server may take a stream before that
    }

    private volatile boolean running;

    @Override
    public void start() {
        running = true;
        follower.scheduleWithFixedDelay(this::follow, pollInterval.toMillis(), pollInterval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Ends every stream before the web server's graceful shutdown starts waiting for open
     * requests (a stream would hold it for its whole timeout); clients resume elsewhere.
     */
    @Override
    public void stop() {
        running = false;
        follower.shutdownNow();
        subscriptions.forEach(s -> s.close("the control plane is shutting down"));
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return Integer.MAX_VALUE;   // stopped first
    }

    /**
     * Subscribes from after {@code lastEventId}, or from now when it is null. A subscriber whose
     * last id was pruned gets a {@link Delivery.Gap} first and goes on after the pruned ids.
     */
    public Subscription subscribe(EventFilter filter, Long lastEventId) {
        Subscription subscription;
        if (lastEventId == null) {
            subscription = new Subscription(filter, bufferSize, head);
        } else {
            long pruned = prunedThrough();
            if (lastEventId < pruned) {
                subscription = new Subscription(filter, bufferSize, pruned);
                subscription.offer(new Delivery.Gap(lastEventId, pruned));
            } else {
                subscription = new Subscription(filter, bufferSize, lastEventId);
            }
        }
        subscriptions.add(subscription);
        follower.execute(this::follow);   // a resuming subscriber need not wait for the next poll
        return subscription;
    }

    /** The highest id retention has deleted (0: none). */
    public long prunedThrough() {
        Long through = jdbc.queryForObject("select through_id from event_log_pruned where scope = '*'", Long.class);
        return through == null ? 0 : through;
    }

    /**
     * The id through which the log is settled: every event up to it that will ever be visible
     * is visible now (holes younger than {@code hole-grace} stop it). Only grows.
     */
    public long head() {
        return head;
    }

    /**
     * Up to 500 events after {@code after} and through {@link #head()}, in id order: what a
     * subscriber may be handed without skipping one that commits late. For followers that
     * keep their own cursor in the database (webhooks).
     */
    public List<EventLog> settledAfter(long after) {
        long through = head;
        return after >= through ? List.of()
                : events.findTop500ByIdGreaterThanAndIdLessThanEqualOrderByIdAsc(after, through);
    }

    /** A job's events of one type still in the log, oldest first (at most its latest 2 000). */
    public List<EventLog> jobHistory(java.util.UUID jobId, EventType type) {
        List<EventLog> newestFirst = new ArrayList<>(events.findTop2000ByJobIdAndTypeOrderByIdDesc(jobId, type));
        java.util.Collections.reverse(newestFirst);
        return newestFirst;
    }

    int subscribers() {
        return subscriptions.size();
    }

    /** Called on the follower thread with the events that committed late (see the class comment), in id order. */
    public void onLate(Consumer<List<EventLog>> listener) {
        lateListeners.add(listener);
    }

    private void follow() {
        try {
            long from = head;
            List<EventLog> fresh = readAfter(from);
            long to = fresh.isEmpty() ? from : fresh.get(fresh.size() - 1).id();
            for (Subscription s : subscriptions) {
                if (s.isClosed()) {
                    subscriptions.remove(s);
                    continue;
                }
                if (s.cursor < from) {
                    catchUp(s, from);
                }
                if (s.cursor >= from) {
                    for (EventLog event : fresh) {
                        if (event.id() > s.cursor && s.filter.matches(event)
                                && !s.offer(new Delivery.Event(event))) {
                            break;
                        }
                    }
                    s.cursor = Math.max(s.cursor, to);
                }
            }
            head = to;
            deliverLate();
        } catch (RuntimeException e) {
            log.warn("event feed: reading the event log failed, trying again: {}", e.toString());
        }
    }

    /** The committed rows after {@code from} up to the first hole younger than the grace. */
    private List<EventLog> readAfter(long from) {
        List<EventLog> rows = events.findTop1000ByIdGreaterThanOrderByIdAsc(from);
        List<EventLog> fresh = new ArrayList<>(rows.size());
        long last = from;
        long now = System.nanoTime();
        for (EventLog row : rows) {
            if (row.id() != last + 1) {
                long seen = holes.computeIfAbsent(last + 1, id -> now);
                if (now - seen < holeGraceNanos) {
                    break;
                }
                for (long id = last + 1; id < row.id() && passedOver.size() < MAX_PASSED_OVER; id++) {
                    passedOver.put(id, now);
                }
            }
            fresh.add(row);
            last = row.id();
        }
        long through = last;
        holes.keySet().removeIf(id -> id <= through);
        return fresh;
    }

    /** Hands out the passed-over ids that have committed since; forgets those older than the late window. */
    private void deliverLate() {
        long now = System.nanoTime();
        passedOver.values().removeIf(since -> now - since > lateWindowNanos);
        if (passedOver.isEmpty()) {
            return;
        }
        List<EventLog> committed = new ArrayList<>(events.findAllById(passedOver.keySet()));
        if (committed.isEmpty()) {
            return;
        }
        committed.sort(java.util.Comparator.comparingLong(EventLog::id));
        for (EventLog event : committed) {
            long waited = TimeUnit.NANOSECONDS.toMillis(now - passedOver.remove(event.id()));
            late.increment();
            log.warn("event {} ({}) committed {} ms after the feed passed over its id as rolled back (hole-grace {} "
                    + "ms): handed out late", event.id(), event.type().apiName(), waited,
                    TimeUnit.NANOSECONDS.toMillis(holeGraceNanos));
            for (Subscription s : subscriptions) {
                if (s.cursor >= event.id() && s.filter.matches(event)) {
                    s.offer(new Delivery.Event(event, true));
                }
            }
        }
        for (Consumer<List<EventLog>> listener : lateListeners) {
            try {
                listener.accept(committed);
            } catch (RuntimeException e) {
                log.warn("event feed: a late-event listener failed: {}", e.toString());
            }
        }
    }

    /** Pages from the table up to {@code upTo}, while the subscriber's buffer has room for a page. */
    private void catchUp(Subscription s, long upTo) {
        while (s.cursor < upTo && s.hasRoom(PAGE) && !s.isClosed()) {
            List<EventLog> page = events.findTop500ByIdGreaterThanAndIdLessThanEqualOrderByIdAsc(s.cursor, upTo);
            for (EventLog event : page) {
                if (s.filter.matches(event)) {
                    s.offer(new Delivery.Event(event));
                }
            }
            s.cursor = page.size() < PAGE ? upTo : page.get(page.size() - 1).id();
        }
    }
}
