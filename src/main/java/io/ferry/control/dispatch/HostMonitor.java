package io.ferry.control.dispatch;

import io.ferry.control.host.HostService;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** Marks hosts unreachable once their heartbeats stop. */
@Component
class HostMonitor {

    private final HostService hosts;

    HostMonitor(HostService hosts) {
        this.hosts = hosts;
    }

    @Scheduled(fixedDelayString = "${ferry.worker.heartbeat-interval}")
    void checkHeartbeats() {
        try {
            hosts.markStaleHostsUnreachable();
        } catch (OptimisticLockingFailureException raced) {
            // a heartbeat (or another replica) changed the host meanwhile; the next round decides again
        }
    }
}
