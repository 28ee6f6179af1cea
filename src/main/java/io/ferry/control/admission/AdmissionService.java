package io.ferry.control.admission;

import io.ferry.control.guest.GuestService;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostNotFoundException;
import io.ferry.control.host.HostService;
import io.ferry.control.job.JobPlan;
import io.ferry.control.job.JobPriority;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationJob;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Admission: the limits in force (configuration, overridden at run time by an admin) and the
 * pass that starts every queued job they allow. A pass runs in one transaction holding the
 * cluster limits row's lock, so replicas take turns and no limit is exceeded between them; it
 * moves every admitted job to setup (the dispatcher then commands the workers) and records
 * what each other job waits for.
 */
@Service
public class AdmissionService {

    private static final Logger log = LoggerFactory.getLogger(AdmissionService.class);

    private final LimitOverrideRepository overrides;
    private final AdmissionProperties defaults;
    private final JobStore jobs;
    private final HostService hosts;
    private final GuestService guests;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final MeterRegistry meters;
    private final Map<JobPriority, AtomicInteger> queueLength = new EnumMap<>(JobPriority.class);

    AdmissionService(LimitOverrideRepository overrides, AdmissionProperties defaults, JobStore jobs,
                     HostService hosts, GuestService guests, PlatformTransactionManager txManager, Clock clock,
                     MeterRegistry meters) {
        this.overrides = overrides;
        this.defaults = defaults;
        this.jobs = jobs;
        this.hosts = hosts;
        this.guests = guests;
        this.tx = new TransactionTemplate(txManager);
        this.clock = clock;
        this.meters = meters;
        for (JobPriority p : JobPriority.values()) {
            AtomicInteger length = new AtomicInteger();
            queueLength.put(p, length);
            Gauge.builder("ferry.queue.length", length, AtomicInteger::get).tag("priority", p.apiName())
                    .description("queued migration jobs").register(meters);
        }
    }

    /** The limits in force: each value an admin set, else the configuration's. */
    public Limits limits() {
        Map<String, LimitOverride> set = new HashMap<>();
        overrides.findAll().forEach(o -> set.put(o.scope(), o));
        LimitOverride cluster = set.remove(LimitOverride.CLUSTER);
        Map<String, Limits.HostLimits> perHost = new LinkedHashMap<>();
        defaults.hosts().forEach((host, o) -> perHost.put(host, new Limits.HostLimits(o.maxOutbound(), o.maxInbound())));
        set.forEach((host, o) -> {
            Limits.HostLimits configured = perHost.get(host);
            perHost.put(host, new Limits.HostLimits(
                    o.maxOutbound() != null ? o.maxOutbound() : configured == null ? null : configured.maxOutbound(),
                    o.maxInbound() != null ? o.maxInbound() : configured == null ? null : configured.maxInbound()));
        });
        return new Limits(
                cluster != null && cluster.maxJobs() != null ? cluster.maxJobs() : defaults.maxJobs(),
                cluster != null && cluster.maxOutbound() != null ? cluster.maxOutbound() : defaults.maxOutboundPerHost(),
                cluster != null && cluster.maxInbound() != null ? cluster.maxInbound() : defaults.maxInboundPerHost(),
                perHost);
    }

    /** Sets the cluster's limits; a null value goes back to the configuration's. Applies from the next pass. */
    public Limits setClusterLimits(Integer maxJobs, Integer maxOutboundPerHost, Integer maxInboundPerHost, String actor) {
        tx.executeWithoutResult(s -> {
            LimitOverride row = overrides.lock(LimitOverride.CLUSTER)
                    .orElseGet(() -> new LimitOverride(LimitOverride.CLUSTER, clock.instant()));
            row.set(maxJobs, maxOutboundPerHost, maxInboundPerHost, clock.instant());
            overrides.save(row);
        });
        log.info("cluster admission limits set by {}: maxJobs={} maxOutboundPerHost={} maxInboundPerHost={}", actor,
                maxJobs, maxOutboundPerHost, maxInboundPerHost);
        return limits();
    }

    /** Sets one host's limits; null goes back to the cluster-wide per-host value. */
    public Limits setHostLimits(String hostId, Integer maxOutbound, Integer maxInbound, String actor) {
        hosts.find(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
        tx.executeWithoutResult(s -> {
            overrides.lock(LimitOverride.CLUSTER);   // one writer at a time, as the passes
            LimitOverride row = overrides.findById(hostId).orElseGet(() -> new LimitOverride(hostId, clock.instant()));
            row.set(null, maxOutbound, maxInbound, clock.instant());
            overrides.save(row);
        });
        log.info("admission limits of host {} set by {}: maxOutbound={} maxInbound={}", hostId, actor, maxOutbound,
                maxInbound);
        return limits();
    }

    /**
     * One admission pass: every queued job the limits allow moves to setup now, in the order
     * {@link FairQueue} gives; the others record what they wait for. Returns the admitted jobs.
     */
    public List<MigrationJob> admit() {
        List<MigrationJob> admitted = tx.execute(s -> {
            overrides.lock(LimitOverride.CLUSTER);
            List<MigrationJob> queue = jobs.queued();
            countQueue(queue);
            if (queue.isEmpty()) {
                return List.of();
            }
            Map<UUID, MigrationJob> byId = new HashMap<>();
            queue.forEach(j -> byId.put(j.id(), j));
            List<MigrationJob> started = new ArrayList<>();
            for (FairQueue.Decision d : FairQueue.decide(limits(), running(), rooms(), queued(queue))) {
                MigrationJob job = byId.get(d.jobId());
                if (d.admit()) {
                    jobs.admit(job, instance(job.sourceHostId()), instance(job.destinationHostId()),
                            admittedReason(job));
                    started.add(job);
                } else {
                    jobs.recordWait(job, d.limitKey(), d.reason());
                }
            }
            return started;
        });
        Instant now = clock.instant();
        for (MigrationJob job : admitted) {
            Timer.builder("ferry.queue.wait").tag("priority", job.priority().apiName())
                    .description("time jobs spent queued before admission").register(meters)
                    .record(Duration.between(job.createdAt(), job.startedAt() == null ? now : job.startedAt()));
        }
        return admitted;
    }

    /** What a job with this plan would meet if it were queued now: null when it would start, else what it would wait for. */
    public String wouldWaitFor(JobPlan plan) {
        List<MigrationJob> queue = jobs.queued();
        List<FairQueue.Queued> all = new ArrayList<>(queued(queue));
        UUID probe = UUID.randomUUID();
        all.add(new FairQueue.Queued(probe, plan.priority(), clock.instant(), plan.sourceHostId(),
                plan.destinationHostId(), plan.memoryBytes()));
        return FairQueue.decide(limits(), running(), rooms(), all).stream().filter(d -> d.jobId().equals(probe))
                .findFirst().filter(d -> !d.admit()).map(FairQueue.Decision::reason).orElse(null);
    }

    /** Jobs in and out of each host now, for views. */
    public Map<String, int[]> jobsPerHost() {
        Map<String, int[]> perHost = new HashMap<>();
        for (MigrationJob j : jobs.running()) {
            perHost.computeIfAbsent(j.sourceHostId(), h -> new int[2])[0]++;
            perHost.computeIfAbsent(j.destinationHostId(), h -> new int[2])[1]++;
        }
        return perHost;
    }

    /** Memory each host has promised to guests coming in (admitted jobs whose guest has not moved yet). */
    public Map<String, Long> reservedIncoming() {
        Map<String, Long> reserved = new HashMap<>();
        for (MigrationJob j : jobs.running()) {
            if (guestStillOnSource(j)) {
                reserved.merge(j.destinationHostId(), j.memoryBytes(), Long::sum);
            }
        }
        return reserved;
    }

    /**
     * What placement weighs per host: memory promised to guests coming in (admitted jobs whose
     * guest has not moved yet, and queued jobs), and jobs in or out, admitted or queued. Counting
     * the queue keeps a drain that asks for all its moves in one pass from sending them all to
     * the one host that looked emptiest.
     */
    public record Load(long promisedBytes, int jobs) {
    }

    public Map<String, Load> placementLoad() {
        Map<String, Long> bytes = new HashMap<>(reservedIncoming());
        Map<String, Integer> count = new HashMap<>();
        for (MigrationJob j : jobs.running()) {
            count.merge(j.sourceHostId(), 1, Integer::sum);
            count.merge(j.destinationHostId(), 1, Integer::sum);
        }
        for (MigrationJob j : jobs.queued()) {
            bytes.merge(j.destinationHostId(), j.memoryBytes(), Long::sum);
            count.merge(j.sourceHostId(), 1, Integer::sum);
            count.merge(j.destinationHostId(), 1, Integer::sum);
        }
        Map<String, Load> load = new HashMap<>();
        for (Host h : hosts.list()) {
            load.put(h.id(), new Load(bytes.getOrDefault(h.id(), 0L), count.getOrDefault(h.id(), 0)));
        }
        return load;
    }

    private void countQueue(List<MigrationJob> queue) {
        Map<JobPriority, Integer> counts = new EnumMap<>(JobPriority.class);
        queue.forEach(j -> counts.merge(j.priority(), 1, Integer::sum));
        queueLength.forEach((p, gauge) -> gauge.set(counts.getOrDefault(p, 0)));
    }

    private String instance(String hostId) {
        return hosts.find(hostId).map(Host::workerInstance).orElse(null);
    }

    private String admittedReason(MigrationJob job) {
        return job.waitingFor() == null ? "admitted at once" : "admitted after waiting for " + job.waitingFor();
    }

    private List<FairQueue.Running> running() {
        return jobs.running().stream().map(j -> new FairQueue.Running(j.sourceHostId(), j.destinationHostId(),
                guestStillOnSource(j) ? j.memoryBytes() : 0)).toList();
    }

    /** Once the guest's record moved (activation), its memory counts on the destination as a guest, not as incoming. */
    private boolean guestStillOnSource(MigrationJob job) {
        try {
            return !guests.get(job.guestId()).hostId().equals(job.destinationHostId());
        } catch (RuntimeException deleted) {
            return false;
        }
    }

    private Map<String, FairQueue.HostRoom> rooms() {
        Map<String, FairQueue.HostRoom> rooms = new HashMap<>();
        for (Host h : hosts.list()) {
            rooms.put(h.id(), new FairQueue.HostRoom(h.isReachable(), h.isCordoned(), h.memoryCapacityBytes(),
                    guests.allocatedMemory(h.id())));
        }
        return rooms;
    }

    private static List<FairQueue.Queued> queued(List<MigrationJob> queue) {
        return queue.stream().map(j -> new FairQueue.Queued(j.id(), j.priority(), j.createdAt(), j.sourceHostId(),
                j.destinationHostId(), j.memoryBytes())).toList();
    }
}
