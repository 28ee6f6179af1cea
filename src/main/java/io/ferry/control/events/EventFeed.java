package io.ferry.control.events;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
 * skips an event that commits late within that time.
 */
@Component
public class EventFeed implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EventFeed.class);
    private static final int PAGE = 500;

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

    EventFeed(EventLogRepository events, JdbcTemplate jdbc,
              @Value("${ferry.events.buffer:1000}") int bufferSize,
              @Value("${ferry.events.poll-interval:200ms}") Duration pollInterval,
              @Value("${ferry.events.hole-grace:1s}") Duration holeGrace) {
        this.events = events;
        this.jdbc = jdbc;
        this.bufferSize = Math.max(bufferSize, PAGE + 1);
        this.pollInterval = pollInterval;
        this.holeGraceNanos = holeGrace.toNanos();
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
            }
            fresh.add(row);
            last = row.id();
        }
        long through = last;
        holes.keySet().removeIf(id -> id <= through);
        return fresh;
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
