package io.ferry.control.host;

import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.events.Payloads.HostChange;
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
    private final EventRecorder recorder;

    HostService(HostRepository hosts, Clock clock, OptimisticRetry retry, EventRecorder recorder,
                @Value("${ferry.worker.heartbeat-timeout}") Duration heartbeatTimeout) {
        this.retry = retry;
        this.recorder = recorder;
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
        HostState before = host.state();
        host.register(workerInstance, controlAddress, dataAddress, datastoreId, memoryCapacityBytes, cpus, now);
        hosts.save(host);
        if (newInstance) {
            changed(host, HostChange.REGISTERED);
        } else if (before != HostState.REACHABLE) {
            changed(host, HostChange.REACHABLE);
        }
        log.info("host {} registered: worker instance {}, control {}, data plane {}, datastore {}", hostId,
                workerInstance, controlAddress, dataAddress, datastoreId);
        return newInstance;
    }

    /** False when the control plane does not know this worker process: it must register again. */
    @Transactional
    public boolean heartbeat(String hostId, String workerInstance) {
        Optional<Host> found = hosts.findById(hostId).filter(h -> h.workerInstance().equals(workerInstance));
        found.ifPresent(h -> {
            boolean again = !h.isReachable();
            h.heartbeat(clock.instant());
            if (again) {
                log.info("host {} is reachable again", hostId);
                changed(h, HostChange.REACHABLE);
            }
        });
        return found.isPresent();
    }

    @Transactional
    public void markStaleHostsUnreachable() {
        Instant now = clock.instant();
        for (Host host : hosts.findAll()) {
            if (host.isStale(now, heartbeatTimeout)) {
                host.markUnreachable();
                changed(host, HostChange.UNREACHABLE);
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
                changed(host, on ? HostChange.CORDONED : HostChange.UNCORDONED);
                log.info("host {} {}", hostId, on ? "cordoned" : "uncordoned");
            }
            return hosts.saveAndFlush(host);
        });
    }

    /** Puts the host's change on the event log, in the caller's transaction. */
    private void changed(Host host, HostChange change) {
        recorder.record(new Payloads.HostChanged(host.id(), change, host.state().apiName(), host.isCordoned(),
                host.workerInstance()));
    }

    /** Locks the host row for the rest of the caller's transaction (placement decisions). */
    @Transactional
    public Optional<Host> lock(String hostId) {
        return hosts.lockById(hostId);
    }
}
