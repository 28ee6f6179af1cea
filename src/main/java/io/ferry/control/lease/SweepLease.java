package io.ferry.control.lease;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The cluster-wide lease of the periodic sweeps (admission passes, host heartbeats, drains,
 * takeovers, retention): one replica runs them at a time. Taken and renewed by one
 * compare-and-set on its row; a replica counts as the holder only until the expiry it wrote,
 * less a margin, so two replicas never both believe they hold it.
 */
@Component
public class SweepLease {

    private static final Logger log = LoggerFactory.getLogger(SweepLease.class);

    private final JdbcTemplate jdbc;
    private final ReplicaIdentity me;
    private final Clock clock;
    private final Duration ttl;
    private volatile Instant heldUntil = Instant.EPOCH;

    SweepLease(JdbcTemplate jdbc, ReplicaIdentity me, Clock clock, @Value("${ferry.leases.ttl:10s}") Duration ttl) {
        this.jdbc = jdbc;
        this.me = me;
        this.clock = clock;
        this.ttl = ttl;
    }

    /** Whether this replica runs the periodic sweeps now. */
    public boolean held() {
        return clock.instant().isBefore(heldUntil);
    }

    /** Takes or renews the lease; returns whether this replica holds it. */
    public boolean renew() {
        Instant now = clock.instant();
        boolean was = held();
        int won = jdbc.update("update control_leases set epoch = case when owner = ? then epoch else epoch + 1 end, "
                        + "owner = ?, expires_at = ? where name = 'sweeps' and (owner is null or owner = ? "
                        + "or expires_at < ? or owner like ?)",
                me.owner(), me.owner(), JobLeases.at(now.plus(ttl)), me.owner(), JobLeases.at(now),
                me.name().replace("%", "\\%").replace("_", "\\_") + "/%");
        if (won == 1) {
            // a margin against clock drift between replicas and a slow statement
            heldUntil = now.plus(ttl.multipliedBy(3).dividedBy(4));
            if (!was) {
                log.info("this replica ({}) runs the periodic sweeps now", me.owner());
            }
            return true;
        }
        if (was) {
            log.warn("this replica ({}) no longer runs the periodic sweeps", me.owner());
        }
        heldUntil = Instant.EPOCH;
        return false;
    }
}
