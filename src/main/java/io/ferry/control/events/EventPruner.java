package io.ferry.control.events;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Retention: deletes events older than {@code ferry.events.retention} and remembers the highest
 * id deleted, so a client resuming from an older id is told of the gap instead of silently
 * missing events. Safe on several replicas (the watermark only grows).
 */
@Component
public class EventPruner {

    private static final Logger log = LoggerFactory.getLogger(EventPruner.class);

    private final EventLogRepository events;
    private final JdbcTemplate jdbc;
    private final Clock clock;
    private final Duration retention;
    private final TransactionTemplate tx;

    EventPruner(EventLogRepository events, JdbcTemplate jdbc, Clock clock, PlatformTransactionManager txManager,
                @Value("${ferry.events.retention:24h}") Duration retention) {
        this.tx = new TransactionTemplate(txManager);
        this.events = events;
        this.jdbc = jdbc;
        this.clock = clock;
        this.retention = retention;
    }

    @Scheduled(fixedDelayString = "${ferry.events.prune-interval:1m}",
            initialDelayString = "${ferry.events.prune-interval:1m}")
    void pruneExpired() {
        pruneBefore(clock.instant().minus(retention));
    }

    /** Deletes the events before {@code cutoff}; returns how many. */
    public int pruneBefore(Instant cutoff) {
        long through = events.maxIdBefore(cutoff);
        if (through == 0) {
            return 0;
        }
        int deleted = tx.execute(status -> {
            jdbc.update("update event_log_pruned set through_id = greatest(through_id, ?) where scope = '*'", through);
            return events.deleteThrough(through);
        });
        if (deleted > 0) {
            log.info("event log: {} event(s) through id {} expired", deleted, through);
        }
        return deleted;
    }
}
