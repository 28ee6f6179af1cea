package io.ferry.control.dispatch;

import io.ferry.control.host.HostService;
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
        hosts.markStaleHostsUnreachable();
    }
}
