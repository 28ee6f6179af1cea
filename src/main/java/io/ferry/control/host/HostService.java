package io.ferry.control.host;

import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.events.Payloads.HostChange;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import io.ferry.control.system.OptimisticRetry;
import io.ferry.control.system.WorkerCredentialLookup;
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
public class HostService implements WorkerCredentialLookup {

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

    /**
     * What a registration did: whether it is a new worker process for the host (first start or
     * restart), and the worker's new credential (shown only here; the host keeps its hash).
     */
    public record Registered(boolean newInstance, String credential) {

        @Override
        public String toString() {
            return "Registered[newInstance=" + newInstance + ", credential=(hidden)]";
        }
    }

    /**
     * Registers the host's worker and issues it a new credential: whatever credential the host
     * had stops working in the same transaction. Refused for a host an operator revoked for good.
     */
    @Transactional
    public Registered register(String hostId, String workerInstance, String controlAddress, String dataAddress,
                               String datastoreId, long memoryCapacityBytes, int cpus) {
        return register(hostId, workerInstance, controlAddress, dataAddress, datastoreId, memoryCapacityBytes, cpus,
                List.of(Host.SYNTHETIC_ONLY));
    }

    /** As above, recording which guest runtimes the worker can run ({@code runtimes}, as it reported them). */
    @Transactional
    public Registered register(String hostId, String workerInstance, String controlAddress, String dataAddress,
                               String datastoreId, long memoryCapacityBytes, int cpus, List<HostRuntime> runtimes) {
        Instant now = clock.instant();
        Host host = hosts.findById(hostId).orElseGet(() -> new Host(hostId, now));
        if (host.isRegistrationRefused()) {
            throw new RegistrationRefusedException(hostId);
        }
        boolean newInstance = !workerInstance.equals(host.workerInstance());
        HostState before = host.state();
        host.register(workerInstance, controlAddress, dataAddress, datastoreId, memoryCapacityBytes, cpus, runtimes, now);
        String credential = WorkerCredentials.newSecret();
        host.issueCredential(WorkerCredentials.hash(credential));
        hosts.save(host);
        if (newInstance) {
            changed(host, HostChange.REGISTERED);
        } else if (before != HostState.REACHABLE) {
            changed(host, HostChange.REACHABLE);
        }
        log.info("host {} registered: worker instance {}, control {}, data plane {}, datastore {}, runtimes {}; new "
                + "credential issued", hostId, workerInstance, controlAddress, dataAddress, datastoreId, runtimes);
        return new Registered(newInstance, credential);
    }

    @Override
    @Transactional(readOnly = true)
    public Optional<String> hostOfCredential(String presented) {
        if (!WorkerCredentials.looksLikeCredential(presented)) {
            return Optional.empty();
        }
        return hosts.findByCredentialHash(WorkerCredentials.hash(presented)).map(Host::id);
    }

    /**
     * Revokes the host's worker credential: the worker's next request is answered 401 and it
     * registers again with the bootstrap token, getting a new credential — unless
     * {@code refuseRegistration}, which keeps the host out until an operator revokes again
     * without it (retried, as relabelling is).
     */
    public Host revokeCredential(String hostId, boolean refuseRegistration) {
        Host revoked = retry.inTransaction(() -> {
            Host host = hosts.findById(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
            host.revokeCredential(refuseRegistration);
            return hosts.saveAndFlush(host);
        });
        log.warn("host {}: worker credential revoked{}", hostId,
                refuseRegistration ? "; registrations refused until an operator lifts it" : "");
        return revoked;
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
