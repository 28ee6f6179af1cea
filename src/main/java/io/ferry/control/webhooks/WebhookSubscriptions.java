package io.ferry.control.webhooks;

import io.ferry.control.events.EventFeed;
import io.ferry.control.events.EventFilter;
import java.net.URI;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * Webhook subscriptions: created, listed with their delivery state, deleted (with their
 * undelivered events). A new subscription receives the events from its creation on.
 */
@Service
public class WebhookSubscriptions {

    private static final String COLUMNS = "id, url, description, types, job_id, guest_id, host_id, created_at, "
            + "last_success_at, consecutive_failures, last_error, last_error_at";

    private final JdbcTemplate jdbc;
    private final EventFeed feed;
    private final Clock clock;

    WebhookSubscriptions(JdbcTemplate jdbc, EventFeed feed, Clock clock) {
        this.jdbc = jdbc;
        this.feed = feed;
        this.clock = clock;
    }

    /** Creates a subscription; the URL must pass {@link WebhookTarget#parse}. */
    @Transactional
    public WebhookSubscription create(String url, String secret, EventFilter filter, String description) {
        URI target = WebhookTarget.parse(url);
        UUID id = UUID.randomUUID();
        Instant now = clock.instant();
        // from the feed's settled head: every later event is fanned out to it, none is skipped
        jdbc.update("insert into webhook_subscription (id, url, secret, types, job_id, guest_id, host_id, description, "
                        + "created_at, fanned_through) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                id, target.toString(), secret, Sql.types(filter.types()), filter.jobId(), filter.guestId(),
                filter.hostId(), description, Sql.at(now), feed.head());
        return find(id).orElseThrow();
    }

    @Transactional(readOnly = true)
    public List<WebhookSubscription> list() {
        Map<UUID, Long> backlog = backlogs();
        return jdbc.query("select " + COLUMNS + " from webhook_subscription order by created_at, id",
                (rs, n) -> view(rs, backlog.getOrDefault(Sql.uuid(rs, "id"), 0L)));
    }

    @Transactional(readOnly = true)
    public Optional<WebhookSubscription> find(UUID id) {
        Long backlog = jdbc.queryForObject("select count(*) from webhook_outbox where subscription_id = ?", Long.class, id);
        return jdbc.query("select " + COLUMNS + " from webhook_subscription where id = ?",
                (rs, n) -> view(rs, backlog == null ? 0 : backlog), id).stream().findFirst();
    }

    /** Deletes it and its undelivered events; false when there was none. */
    @Transactional
    public boolean delete(UUID id) {
        jdbc.update("delete from webhook_outbox where subscription_id = ?", id);
        return jdbc.update("delete from webhook_subscription where id = ?", id) == 1;
    }

    private Map<UUID, Long> backlogs() {
        Map<UUID, Long> backlog = new HashMap<>();
        jdbc.query("select subscription_id, count(*) as n from webhook_outbox group by subscription_id",
                rs -> {
                    backlog.put(Sql.uuid(rs, "subscription_id"), rs.getLong("n"));
                });
        return backlog;
    }

    private static WebhookSubscription view(ResultSet rs, long backlog) throws SQLException {
        return new WebhookSubscription(Sql.uuid(rs, "id"), URI.create(rs.getString("url")), rs.getString("description"),
                Sql.filter(rs), Sql.instant(rs, "created_at"),
                new WebhookSubscription.DeliveryState(Sql.instant(rs, "last_success_at"),
                        rs.getInt("consecutive_failures"), rs.getString("last_error"),
                        Sql.instant(rs, "last_error_at"), backlog));
    }
}
