package io.ferry.control.job;

import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestBusyException;
import io.ferry.control.guest.GuestNotFoundException;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.GuestState;
import io.ferry.control.guest.PlacementException;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.idempotency.IdempotencyKey;
import io.ferry.control.idempotency.IdempotencyService;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.data.domain.Page;
import org.springframework.data.domain.Pageable;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Migration jobs' use cases. Each runs in one transaction; a job's row carries a version so
 * every status change is a compare-and-set, and each change appends to the job's timeline.
 */
@Service
public class MigrationJobService {

    private static final Logger log = LoggerFactory.getLogger(MigrationJobService.class);

    private final MigrationJobRepository jobs;
    private final JobEventRepository events;
    private final GuestService guests;
    private final HostService hosts;
    private final IdempotencyService idempotency;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final MeterRegistry meters;

    MigrationJobService(MigrationJobRepository jobs, JobEventRepository events, GuestService guests,
                        HostService hosts, IdempotencyService idempotency, PlatformTransactionManager txManager,
                        Clock clock, MeterRegistry meters) {
        this.jobs = jobs;
        this.events = events;
        this.guests = guests;
        this.hosts = hosts;
        this.idempotency = idempotency;
        this.tx = new TransactionTemplate(txManager);
        this.clock = clock;
        this.meters = meters;
    }

    /** Returns the job this request (or the first request with the same key) created. */
    public MigrationJob create(NewMigration request, IdempotencyKey key, String actor) {
        UUID id = idempotency.once(key, () -> queue(request, key, actor));
        return get(id);
    }

    private UUID queue(NewMigration request, IdempotencyKey key, String actor) {
        List<String> unsupported = EngineFeatures.unsupported(request.parameters());
        if (!unsupported.isEmpty()) {
            throw new UnsupportedFeatureException(unsupported);
        }
        UUID jobId = UUID.randomUUID();
        return tx.execute(status -> {
            idempotency.remember(key, jobId);
            Guest guest = guestFor(request.guestId());
            Host destination = hosts.find(request.destinationHostId()).orElseThrow(() -> new PlacementException(
                    "destination host '" + request.destinationHostId() + "' is unknown"));
            if (destination.id().equals(guest.hostId())) {
                throw new PlacementException("guest " + guest.id() + " already runs on '" + destination.id()
                        + "': source and destination must differ");
            }
            if (!destination.isReachable()) {
                throw new PlacementException("destination host '" + destination.id() + "' is unreachable");
            }
            guests.checkRoom(destination, guest.memoryBytes());
            if (guest.state() != GuestState.RUNNING && guest.state() != GuestState.PAUSED) {
                throw new GuestBusyException("guest " + guest.id() + " is " + guest.state().apiName()
                        + " and cannot be migrated");
            }
            if (!guests.claimForJob(guest.id(), jobId)) {
                throw new GuestBusyException("guest " + guest.id() + " already has an unfinished migration job "
                        + guests.get(guest.id()).activeJobId());
            }
            MigrationJob job = MigrationJob.queue(jobId, guest.id(), guest.hostId(), destination.id(),
                    request.parameters(), clock.instant());
            jobs.saveAndFlush(job);
            events.save(job.creationEvent(actor));
            return jobId;
        });
    }

    private Guest guestFor(UUID guestId) {
        try {
            return guests.get(guestId);
        } catch (GuestNotFoundException notFound) {
            throw new PlacementException("guest " + guestId + " does not exist");
        }
    }

    public MigrationJob get(UUID id) {
        return jobs.findById(id).orElseThrow(() -> new JobNotFoundException(id));
    }

    public Page<MigrationJob> search(JobStatus status, UUID guestId, String hostId, Pageable page) {
        return jobs.search(status, guestId, hostId, page);
    }

    public List<JobEvent> events(UUID id) {
        get(id);
        return events.findByJobIdOrderByIdAsc(id);
    }

    /** Changes bandwidth and downtime limit of a job that has not finished. */
    public MigrationJob tune(UUID id, Long maxBandwidth, Long downtimeLimitMs, String actor) {
        return inJob(id, job -> {
            if (job.status().isTerminal()) {
                throw new JobConflictException("job " + id + " is " + job.status().apiName()
                        + "; parameters of a finished job cannot change");
            }
            job.tune(maxBandwidth, downtimeLimitMs, clock.instant());
            log.info("job {} tuned by {}: maxBandwidth={} downtimeLimitMs={}", id, actor,
                    job.parameters().maxBandwidth(), job.parameters().downtimeLimitMs());
        });
    }

    /**
     * Cancel is a request honoured at a safe point. A queued job has not touched any host and
     * ends at once; a running one goes through cancelling. Refused (409) once it would lie.
     */
    public MigrationJob cancel(UUID id, String actor) {
        return inJob(id, job -> {
            JobStatus next = job.status() == JobStatus.QUEUED ? JobStatus.CANCELLED : JobStatus.CANCELLING;
            transition(job, next, "cancel requested by " + actor, actor);
        });
    }

    /** Switches a running pre-copy job to post-copy; refused unless the job was started with it. */
    public MigrationJob startPostcopy(UUID id, String actor) {
        return inJob(id, job -> {
            job.status().checkTransition(JobStatus.POSTCOPY_ACTIVE);
            if (!job.parameters().postcopy()) {
                throw new JobConflictException("job " + id + " was not started with the postcopy capability");
            }
            transition(job, JobStatus.POSTCOPY_ACTIVE, "post-copy requested by " + actor, actor);
        });
    }

    /** The one way a job's status changes: validated, stored with its version check, and put on the timeline. */
    void transition(MigrationJob job, JobStatus next, String reason, String actor) {
        JobStatus from = job.status();
        JobEvent event = job.transitionTo(next, reason, actor, clock.instant());
        jobs.saveAndFlush(job);
        events.save(event);
        if (next.isTerminal()) {
            guests.releaseFromJob(job.guestId(), job.id());
        }
        meters.counter("ferry.jobs.transitions", "from", from.apiName(), "to", next.apiName()).increment();
        log.info("job {}: {} -> {} ({})", job.id(), from.apiName(), next.apiName(), reason);
    }

    private MigrationJob inJob(UUID id, Consumer<MigrationJob> change) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", id.toString())) {
            return tx.execute(status -> {
                MigrationJob job = get(id);
                change.accept(job);
                return jobs.saveAndFlush(job);
            });
        }
    }
}
