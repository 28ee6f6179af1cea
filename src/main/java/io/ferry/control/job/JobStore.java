package io.ferry.control.job;

import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.guest.GuestService;
import io.ferry.control.host.HostService;
import io.ferry.control.lease.JobLeases;
import io.ferry.control.lease.LeaseLostException;
import io.ferry.control.system.OptimisticRetry;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Component;

/**
 * The one way a job row changes: read, change, save as a compare-and-set on its version (with
 * {@link OptimisticRetry}), and every status change validated by {@link JobStatus}'s table and
 * put on the job's timeline.
 */
@Component
public class JobStore {

    private static final Logger log = LoggerFactory.getLogger(JobStore.class);
    public static final String SYSTEM = "system";

    private final MigrationJobRepository jobs;
    private final JobEventRepository events;
    private final GuestService guests;
    private final HostService hosts;
    private final OptimisticRetry retry;
    private final Clock clock;
    private final MeterRegistry meters;
    private final ApplicationEventPublisher publisher;
    private final EventRecorder recorder;
    private final JobLeases leases;

    JobStore(MigrationJobRepository jobs, JobEventRepository events, GuestService guests, HostService hosts,
             OptimisticRetry retry, Clock clock, MeterRegistry meters, ApplicationEventPublisher publisher,
             EventRecorder recorder, JobLeases leases) {
        this.leases = leases;
        this.publisher = publisher;
        this.recorder = recorder;
        this.jobs = jobs;
        this.events = events;
        this.guests = guests;
        this.hosts = hosts;
        this.retry = retry;
        this.clock = clock;
        this.meters = meters;
    }

    public MigrationJob get(UUID id) {
        return jobs.findById(id).orElseThrow(() -> new JobNotFoundException(id));
    }

    /** The guest's most recent job, ended or not. */
    public java.util.Optional<MigrationJob> latestOf(UUID guestId) {
        return jobs.findFirstByGuestIdOrderByCreatedAtDesc(guestId);
    }

    /** Applies {@code change} to the job in one transaction; retried on a lost race (see {@link OptimisticRetry}). */
    public MigrationJob inJob(UUID id, Consumer<MigrationJob> change) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", id.toString())) {
            return retry.inTransaction(() -> {
                MigrationJob job = get(id);
                change.accept(job);
                return jobs.saveAndFlush(job);
            });
        }
    }

    /**
     * As {@link #inJob}, for a change this replica makes as the job's driver (a check of its own,
     * not a worker's report or a user's command): refused with {@link LeaseLostException} when
     * another replica took the job's lease over.
     */
    public MigrationJob inJobAsDriver(UUID id, Consumer<MigrationJob> change) {
        return inJob(id, job -> {
            leases.fence(id);
            change.accept(job);
        });
    }

    /** As {@link #fail}, as the job's driver (see {@link #inJobAsDriver}). */
    public MigrationJob failAsDriver(UUID id, String failure, String actor) {
        return inJobAsDriver(id, failing(failure, actor));
    }

    /** The one way a job's status changes: validated, stored with its version check, and put on the timeline. */
    public void transition(MigrationJob job, JobStatus next, String reason, String actor) {
        JobStatus from = job.status();
        JobEvent event = job.transitionTo(next, reason, actor, clock.instant());
        jobs.saveAndFlush(job);
        events.save(event);
        recorder.record(changed(job, JobEvent.Kind.TRANSITION, from, next, reason, actor), event.at());
        if (next.isTerminal()) {
            leases.release(job.id());
            guests.releaseFromJob(job.guestId(), job.id(), job.sourceHostId(), job.guestRunState());
            publisher.publishEvent(new QueueChanged(job.id()));   // its slots are free for the queue
        }
        meters.counter("ferry.jobs.transitions", "from", from.apiName(), "to", next.apiName()).increment();
        log.info("job {}: {} -> {} ({})", job.id(), from.apiName(), next.apiName(), reason);
    }

    /** A new job's first timeline entry (→ queued), in the caller's transaction. */
    void created(MigrationJob job, String actor) {
        JobEvent event = events.save(job.creationEvent(actor));
        recorder.record(changed(job, JobEvent.Kind.TRANSITION, null, JobStatus.QUEUED, job.statusReason(), actor),
                event.at());
    }

    /** A timeline entry that is not a transition (a wait, an escalation, a decision), in the caller's transaction. */
    public void note(MigrationJob job, JobEvent.Kind kind, String reason, String actor) {
        JobEvent event = events.save(new JobEvent(job.id(), clock.instant(), job.status(), job.status(), kind, reason,
                actor));
        recorder.record(changed(job, kind, job.status(), job.status(), reason, actor), event.at());
        log.info("job {}: {} ({})", job.id(), kind.apiName(), reason);
    }

    private static Payloads.JobChanged changed(MigrationJob job, JobEvent.Kind kind, JobStatus from, JobStatus to,
                                               String reason, String actor) {
        return new Payloads.JobChanged(job.id(), job.guestId(), job.sourceHostId(), job.destinationHostId(),
                kind.apiName(), from == null ? null : from.apiName(), to.apiName(), reason, actor);
    }

    /** Ends a job that could not go on, keeping the first failure. No-op on a finished job. */
    public MigrationJob fail(UUID id, String failure, String actor) {
        return inJob(id, failing(failure, actor));
    }

    private Consumer<MigrationJob> failing(String failure, String actor) {
        return job -> {
            job.recordFailure(failure);
            if (!job.status().isTerminal()) {
                transition(job, JobStatus.FAILED, failure, actor);
            }
        };
    }

    /**
     * The destination runs the guest now: record where. With disks this already happened when
     * the destination's activation won; a guest without disks moves when the source reports.
     */
    void handOver(MigrationJob job) {
        if (!guests.get(job.guestId()).hostId().equals(job.sourceHostId())) {
            return;   // already recorded (activation, or a retried report)
        }
        guests.moveTo(job.guestId(), hosts.find(job.destinationHostId()).orElseThrow(), job.guestRunState());
    }

    /** The queue, oldest first (at most 1000: the rest wait for the next pass). */
    public List<MigrationJob> queued() {
        return jobs.findTop1000ByStatusOrderByCreatedAtAsc(JobStatus.QUEUED);
    }

    /** The jobs a drain asked for. */
    public List<MigrationJob> ofDrain(UUID drainId) {
        return jobs.findByDrainId(drainId);
    }

    /** Jobs holding admission slots: admitted and not finished. */
    public List<MigrationJob> running() {
        return jobs.findByStatusIn(java.util.Arrays.stream(JobStatus.values()).filter(JobStatus::isRunning).toList());
    }

    /** Admission: the job starts (queued → setup) on these worker processes, in the caller's transaction. */
    public void admit(MigrationJob job, String sourceInstance, String destinationInstance, String reason) {
        job.startedOn(sourceInstance, destinationInstance);
        transition(job, JobStatus.SETUP, reason, SYSTEM);
        leases.acquireNew(job.id());
    }

    /** Records what a queued job waits for, in the caller's transaction; a new limit goes on the timeline. */
    public void recordWait(MigrationJob job, String limitKey, String reason) {
        if (reason.equals(job.waitingFor())) {
            return;
        }
        if (job.waitFor(reason, limitKey)) {
            note(job, JobEvent.Kind.WAITING, "waiting for " + reason, SYSTEM);
        }
        jobs.saveAndFlush(job);
    }

    /** Records a policy's escalation or ramp step taken on the job, in the caller's transaction. */
    public void recordEscalation(MigrationJob job, boolean skipped, String reason) {
        job.escalated(clock.instant(), skipped);
        jobs.saveAndFlush(job);
        note(job, JobEvent.Kind.ESCALATION, reason, SYSTEM);
    }

    public void recordRamp(MigrationJob job, long downtimeLimitMs, String reason) {
        job.rampApplied(downtimeLimitMs, clock.instant());
        jobs.saveAndFlush(job);
        note(job, JobEvent.Kind.ESCALATION, reason, SYSTEM);
    }

    /** Jobs a worker is (or should be) running: setup, active, cancelling. */
    public List<MigrationJob> unfinished() {
        return jobs.findByStatusIn(List.of(JobStatus.SETUP, JobStatus.ACTIVE, JobStatus.CANCELLING));
    }

    public Clock clock() {
        return clock;
    }
}
