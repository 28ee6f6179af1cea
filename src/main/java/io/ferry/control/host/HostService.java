package io.ferry.control.host;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import io.ferry.control.system.OptimisticRetry;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.data.domain.Sort;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Registry of worker hosts: registration, heartbeats and reachability. */
@Service
public class HostService {

    private static final Logger log = LoggerFactory.getLogger(HostService.class);

    private final HostRepository hosts;
    private final Clock clock;
    private final Duration heartbeatTimeout;
    private final OptimisticRetry retry;

    HostService(HostRepository hosts, Clock clock, OptimisticRetry retry,
                @Value("${ferry.worker.heartbeat-timeout}") Duration heartbeatTimeout) {
        this.retry = retry;
        this.hosts = hosts;
        this.clock = clock;
        this.heartbeatTimeout = heartbeatTimeout;
    }

    /** Returns true when this is a new worker process for the host (first start or restart). */
    @Transactional
    public boolean register(String hostId, String workerInstance, String controlAddress, String dataAddress,
                            String datastoreId, long memoryCapacityBytes, int cpus) {
        Instant now = clock.instant();
        Host host = hosts.findById(hostId).orElseGet(() -> new Host(hostId, now));
        boolean newInstance = !workerInstance.equals(host.workerInstance());
        host.register(workerInstance, controlAddress, dataAddress, datastoreId, memoryCapacityBytes, cpus, now);
        hosts.save(host);
        log.info("host {} registered: worker instance {}, control {}, data plane {}, datastore {}", hostId,
                workerInstance, controlAddress, dataAddress, datastoreId);
        return newInstance;
    }

    /** False when the control plane does not know this worker process: it must register again. */
    @Transactional
    public boolean heartbeat(String hostId, String workerInstance) {
        Optional<Host> found = hosts.findById(hostId).filter(h -> h.workerInstance().equals(workerInstance));
        found.ifPresent(h -> {
            if (!h.isReachable()) {
                log.info("host {} is reachable again", hostId);
            }
            h.heartbeat(clock.instant());
        });
        return found.isPresent();
    }

    @Transactional
    public void markStaleHostsUnreachable() {
        Instant now = clock.instant();
        for (Host host : hosts.findAll()) {
            if (host.isStale(now, heartbeatTimeout)) {
                host.markUnreachable();
                log.warn("host {} is unreachable: no heartbeat since {}", host.id(), host.lastHeartbeatAt());
            }
        }
    }

    @Transactional(readOnly = true)
    public List<Host> list() {
        return hosts.findAll(Sort.by("id"));
    }

    @Transactional(readOnly = true)
    public Optional<Host> find(String hostId) {
        return hosts.findById(hostId);
    }

    /** Replaces the host's labels (retried: heartbeats write the host row every second). */
    public Host relabel(String hostId, Map<String, String> labels) {
        Host relabelled = retry.inTransaction(() -> {
            Host host = hosts.findById(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
            host.relabel(labels);
            return hosts.saveAndFlush(host);
        });
        log.info("host {} labels: {}", hostId, labels);
        return relabelled;
    }

    /** Cordons (no new guests) or uncordons the host (retried, as above). */
    public Host cordon(String hostId, boolean on) {
        return retry.inTransaction(() -> {
            Host host = hosts.findById(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
            if (host.isCordoned() != on) {
                host.cordon(on);
                log.info("host {} {}", hostId, on ? "cordoned" : "uncordoned");
            }
            return hosts.saveAndFlush(host);
        });
    }

    /** Locks the host row for the rest of the caller's transaction (placement decisions). */
    @Transactional
    public Optional<Host> lock(String hostId) {
        return hosts.lockById(hostId);
    }
}
