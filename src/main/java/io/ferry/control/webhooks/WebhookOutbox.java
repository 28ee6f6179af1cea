package io.ferry.control.webhooks;

import io.ferry.control.events.EventFeed;
import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventLog;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * The persisted outbox: what is still to be delivered to whom. Every replica may feed and
 * drain it; the database keeps them from doing the same work twice.
 *
 * <ul>
 *   <li><b>Fan-out</b> copies the event log into the outbox per subscription, from its cursor
 *       ({@code fanned_through}) through the feed's settled head, under the subscription row's
 *       lock taken with {@code FOR UPDATE SKIP LOCKED}: a replica that finds the row locked
 *       leaves that subscription to the one holding it.</li>
 *   <li><b>Order</b>: only the head of a (subscription, ordering key) — its lowest event id — is
 *       ever due, and a row leaves only when delivered, so a failing event of job X holds back
 *       the later events of job X and nothing else.</li>
 *   <li><b>Claim</b>: a compare-and-set on {@code attempts} sets {@code claimed_until}; one
 *       replica delivers a row at a time, and a replica that died mid-delivery loses its claim
 *       when it expires (then the row is sent again: at least once).</li>
 * </ul>
 */
@Component
class WebhookOutbox {

    /** A page of the fan-out, per subscription and pass. */
    static final int PAGE = 500;

    /** A due row with what it takes to send it. */
    record Row(UUID subscriptionId, long eventId, String orderingKey, String body, int attempts, URI url,
               String secret) {
    }

    /** A subscription as the fan-out sees it. */
    record Cursor(UUID subscriptionId, EventFilter filter, long fannedThrough) {
    }

    private final JdbcTemplate jdbc;
    private final JsonMapper json;
    private final TransactionTemplate tx;

    WebhookOutbox(JdbcTemplate jdbc, JsonMapper json, PlatformTransactionManager txManager) {
        this.jdbc = jdbc;
        this.json = json;
        this.tx = new TransactionTemplate(txManager);
    }

    List<Cursor> cursors() {
        return jdbc.query("select id, types, job_id, guest_id, host_id, fanned_through from webhook_subscription",
                (rs, n) -> new Cursor(Sql.uuid(rs, "id"), Sql.filter(rs), rs.getLong("fanned_through")));
    }

    /**
     * Copies the next page of settled events after the subscription's cursor that match its
     * filter into the outbox and moves the cursor; returns how many events it looked at (0 when
     * another replica holds the subscription or nothing is new).
     */
    int fanOut(Cursor cursor, EventFeed feed, Instant now) {
        Integer seen = tx.execute(status -> {
            List<Long> locked = jdbc.queryForList("select fanned_through from webhook_subscription where id = ? "
                    + "for update skip locked", Long.class, cursor.subscriptionId());
            if (locked.isEmpty()) {
                return 0;   // deleted, or another replica is fanning out to it right now
            }
            List<EventLog> events = feed.settledAfter(locked.get(0));
            if (events.isEmpty()) {
                return 0;
            }
            for (EventLog event : events) {
                if (cursor.filter().matches(event)) {
                    jdbc.update("insert into webhook_outbox (subscription_id, event_id, ordering_key, body, "
                                    + "next_attempt_at) values (?, ?, ?, ?, ?)", cursor.subscriptionId(), event.id(),
                            orderingKey(event), WebhookPayload.json(event, json), Sql.at(now));
                }
            }
            jdbc.update("update webhook_subscription set fanned_through = ? where id = ?",
                    events.get(events.size() - 1).id(), cursor.subscriptionId());
            return events.size();
        });
        return seen == null ? 0 : seen;
    }

    /**
     * Events that committed after the fan-out had passed their ids (see {@link EventFeed}): each
     * goes into the outbox of every subscription whose cursor is past it and whose filter it
     * matches, once (another replica may have seen it late too). Returns how many it added.
     */
    int fanOutLate(List<EventLog> late, Instant now) {
        int added = 0;
        for (Cursor cursor : cursors()) {
            for (EventLog event : late) {
                if (event.id() > cursor.fannedThrough() || !cursor.filter().matches(event)) {
                    continue;   // the ordinary fan-out will copy it in order
                }
                try {
                    added += jdbc.update("insert into webhook_outbox (subscription_id, event_id, ordering_key, body, "
                                    + "next_attempt_at) select ?, ?, ?, ?, ? where not exists (select 1 from "
                                    + "webhook_outbox where subscription_id = ? and event_id = ?)",
                            cursor.subscriptionId(), event.id(), orderingKey(event), WebhookPayload.json(event, json),
                            Sql.at(now), cursor.subscriptionId(), event.id());
                } catch (DuplicateKeyException alreadyThere) {
                    // another replica added it at the same moment
                }
            }
        }
        return added;
    }

    /** What may not overtake each other: a job's events; then a guest's, a host's (events of no job). */
    static String orderingKey(EventLog event) {
        if (event.jobId() != null) {
            return "job:" + event.jobId();
        }
        if (event.guestId() != null) {
            return "guest:" + event.guestId();
        }
        return event.hostId() != null ? "host:" + event.hostId() : "-";
    }

    /** Up to {@code limit} heads that are due and not claimed, the longest-waiting first. */
    List<Row> due(Instant now, int limit) {
        return jdbc.query("select o.subscription_id, o.event_id, o.ordering_key, o.body, o.attempts, s.url, s.secret "
                        + "from webhook_outbox o join webhook_subscription s on s.id = o.subscription_id "
                        + "where o.next_attempt_at <= ? and (o.claimed_until is null or o.claimed_until < ?) "
                        + "and not exists (select 1 from webhook_outbox e where e.subscription_id = o.subscription_id "
                        + "and e.ordering_key = o.ordering_key and e.event_id < o.event_id) "
                        + "order by o.next_attempt_at, o.event_id limit ?",
                (rs, n) -> new Row(Sql.uuid(rs, "subscription_id"), rs.getLong("event_id"),
                        rs.getString("ordering_key"), rs.getString("body"), rs.getInt("attempts"),
                        URI.create(rs.getString("url")), rs.getString("secret")),
                Sql.at(now), Sql.at(now), limit);
    }

    /** Compare-and-set: the row is ours until {@code until} if nobody claimed or tried it since it was read. */
    boolean claim(Row row, String replica, Instant now, Instant until) {
        return jdbc.update("update webhook_outbox set claimed_by = ?, claimed_until = ?, attempts = attempts + 1 "
                        + "where subscription_id = ? and event_id = ? and attempts = ? "
                        + "and (claimed_until is null or claimed_until < ?)",
                replica, Sql.at(until), row.subscriptionId(), row.eventId(), row.attempts(), Sql.at(now)) == 1;
    }

    /** The receiver took it: the row leaves the outbox. */
    void delivered(Row row, String replica, Instant now) {
        tx.executeWithoutResult(status -> {
            jdbc.update("delete from webhook_outbox where subscription_id = ? and event_id = ?",
                    row.subscriptionId(), row.eventId());
            jdbc.update("update webhook_subscription set last_success_at = ?, consecutive_failures = 0 where id = ?",
                    Sql.at(now), row.subscriptionId());
        });
    }

    /** The attempt failed: the row waits until {@code retryAt}, still the head of its key. */
    void failed(Row row, String replica, Instant now, Instant retryAt, String error) {
        tx.executeWithoutResult(status -> {
            jdbc.update("update webhook_outbox set claimed_by = null, claimed_until = null, next_attempt_at = ?, "
                            + "last_error = ? where subscription_id = ? and event_id = ? and claimed_by = ?",
                    Sql.at(retryAt), Sql.error(error), row.subscriptionId(), row.eventId(), replica);
            jdbc.update("update webhook_subscription set consecutive_failures = consecutive_failures + 1, "
                    + "last_error = ?, last_error_at = ? where id = ?", Sql.error(error), Sql.at(now), row.subscriptionId());
        });
    }

    /** Undelivered events of every subscription. */
    long backlog() {
        Long n = jdbc.queryForObject("select count(*) from webhook_outbox", Long.class);
        return n == null ? 0 : n;
    }
}
