package io.ferry.control.system;

import io.ferry.control.lease.SweepLease;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** Retention of the audit log: rows older than {@code ferry.audit.retention} (90 days) go, on the sweeps' replica only. */
@Component
class AuditPruner {

    private static final Logger log = LoggerFactory.getLogger(AuditPruner.class);

    private final AuditLog audit;
    private final SweepLease sweeps;
    private final Clock clock;
    private final Duration retention;

    AuditPruner(AuditLog audit, SweepLease sweeps, Clock clock,
                @Value("${ferry.audit.retention:90d}") Duration retention) {
        this.audit = audit;
        this.sweeps = sweeps;
        this.clock = clock;
        this.retention = retention;
    }

    @Scheduled(fixedDelayString = "${ferry.audit.prune-interval:10m}",
            initialDelayString = "${ferry.audit.prune-interval:10m}")
    void pruneExpired() {
        if (!sweeps.held()) {
            return;
        }
        int deleted = audit.pruneBefore(clock.instant().minus(retention));
        if (deleted > 0) {
            log.info("audit log: {} row(s) older than {} expired", deleted, retention);
        }
    }
}
