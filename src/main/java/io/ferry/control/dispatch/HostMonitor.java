package io.ferry.control.dispatch;

import io.ferry.control.host.HostService;
import io.ferry.control.lease.SweepLease;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** Marks hosts unreachable once their heartbeats stop. */
@Component
class HostMonitor {

    private final HostService hosts;
    /** Until then, workers are still finding a control plane that just started: no verdicts. */
    private final Instant graceUntil;
    private final Clock clock;

    private final SweepLease sweeps;

    HostMonitor(HostService hosts, Clock clock, SweepLease sweeps,
                @Value("${ferry.worker.heartbeat-timeout}") Duration timeout) {
        this.sweeps = sweeps;
        this.hosts = hosts;
        this.clock = clock;
        this.graceUntil = clock.instant().plus(timeout);
    }

    @Scheduled(fixedDelayString = "${ferry.worker.heartbeat-interval}")
    void checkHeartbeats() {
        if (clock.instant().isBefore(graceUntil) || !sweeps.held()) {
            return;
        }
        try {
            hosts.markStaleHostsUnreachable();
        } catch (OptimisticLockingFailureException raced) {
            // a heartbeat (or another replica) changed the host meanwhile; the next round decides again
        }
    }
}
