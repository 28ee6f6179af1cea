package io.ferry.control.job;

import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestBusyException;
import io.ferry.control.guest.GuestNotFoundException;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.GuestState;
import io.ferry.control.guest.PlacementException;
import io.ferry.control.host.Host;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.TuneMigrationCommand;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.channel.OwnershipGrant;
import io.ferry.channel.OwnershipStep;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipService;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.Optional;
import org.springframework.dao.OptimisticLockingFailureException;
import tools.jackson.databind.json.JsonMapper;
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
    private final WorkerGateway workers;
    private final OwnershipService ownership;
    private final JsonMapper json;

    static final String SYSTEM = "system";

    MigrationJobService(MigrationJobRepository jobs, JobEventRepository events, GuestService guests,
                        HostService hosts, IdempotencyService idempotency, PlatformTransactionManager txManager,
                        Clock clock, MeterRegistry meters, WorkerGateway workers, OwnershipService ownership,
                        JsonMapper json) {
        this.workers = workers;
        this.ownership = ownership;
        this.json = json;
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
            checkStorage(request.parameters().storage(), hosts.find(guest.hostId()).orElseThrow(), destination,
                    guests.disksOf(guest.id()).isEmpty());
            if (guest.activeJobId() != null) {
                throw new GuestBusyException("guest " + guest.id() + " already has an unfinished migration job "
                        + guest.activeJobId());
            }
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

    /**
     * Shared storage needs both hosts to see the same images; a copy needs them not to (copying
     * an image onto itself would empty it before reading it).
     */
    private static void checkStorage(StorageMode storage, Host source, Host destination, boolean noDisks) {
        if (noDisks) {
            return;
        }
        boolean shared = source.sharesDatastoreWith(destination);
        if (storage == StorageMode.SHARED && !shared) {
            throw new PlacementException("hosts '" + source.id() + "' and '" + destination.id() + "' do not share a "
                    + "datastore (" + describe(source) + " vs " + describe(destination)
                    + "): use parameters.storage=copy to stream the disks");
        }
        if (storage == StorageMode.COPY && shared) {
            throw new PlacementException("hosts '" + source.id() + "' and '" + destination.id() + "' share datastore "
                    + source.datastoreId() + ": the images are already there, use parameters.storage=shared");
        }
    }

    private static String describe(Host host) {
        return host.datastoreId().isEmpty() ? "unknown" : host.datastoreId();
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

    /**
     * Changes bandwidth and downtime limit of a job that has not finished. A running job's
     * source takes them from its next rate window and convergence check.
     */
    public MigrationJob tune(UUID id, Long maxBandwidth, Long downtimeLimitMs, String actor) {
        MigrationJob tuned = inJob(id, job -> {
            if (job.status().isTerminal()) {
                throw new JobConflictException("job " + id + " is " + job.status().apiName()
                        + "; parameters of a finished job cannot change");
            }
            job.tune(maxBandwidth, downtimeLimitMs, clock.instant());
            log.info("job {} tuned by {}: maxBandwidth={} downtimeLimitMs={}", id, actor,
                    job.parameters().maxBandwidth(), job.parameters().downtimeLimitMs());
        });
        if (tuned.status() == JobStatus.ACTIVE || tuned.status() == JobStatus.SETUP) {
            try {
                workers.tuneMigration(hosts.find(tuned.sourceHostId()).orElseThrow(), id, new TuneMigrationCommand(
                        tuned.parameters().maxBandwidth(), tuned.parameters().downtimeLimitMs()));
            } catch (WorkerRejectedException notRunningYet) {
                // not started on the source yet: it starts with the stored parameters
            }
        }
        return tuned;
    }

    /**
     * Cancel is a request honoured at a safe point. A queued job has not touched any host and
     * ends at once. A running one is first put to its source worker, which refuses once the
     * switchover began (the destination may already run the guest): then 409, because
     * "cancelled" would lie. Accepted, the job is cancelling until the source reports back.
     */
    public MigrationJob cancel(UUID id, String actor) {
        String reason = "cancel requested by " + actor;
        MigrationJob current = get(id);
        if (current.status() == JobStatus.QUEUED) {
            MigrationJob cancelled = inJob(id, job -> {
                if (job.status() == JobStatus.QUEUED) {
                    transition(job, JobStatus.CANCELLED, reason, actor);
                }
            });
            if (cancelled.status() == JobStatus.CANCELLED) {
                return cancelled;
            }
            current = cancelled;   // the dispatcher started it meanwhile: cancel it as a running job
        }
        current.status().checkTransition(JobStatus.CANCELLING);
        Host source = hosts.find(current.sourceHostId()).orElseThrow();
        if (!workers.cancelMigration(source, id)) {
            throw new JobConflictException("job " + id + " is switching over: the destination may already run the "
                    + "guest, so it can no longer be cancelled");
        }
        return inJob(id, job -> {
            if (job.status().canMoveTo(JobStatus.CANCELLING)) {
                transition(job, JobStatus.CANCELLING, reason, actor);
            }
        });
    }

    // ---- driven by the dispatcher and by workers' reports --------------------------------

    /** Queued jobs, oldest first, for the dispatcher. */
    public List<UUID> queued() {
        return jobs.findTop20ByStatusOrderByCreatedAtAsc(JobStatus.QUEUED).stream().map(MigrationJob::id).toList();
    }

    /** Compare-and-set queued → setup; empty when another dispatcher (replica) or a cancel got there first. */
    public Optional<MigrationJob> begin(UUID id) {
        boolean[] mine = new boolean[1];
        try {
            MigrationJob job = inJob(id, j -> {
                mine[0] = j.status() == JobStatus.QUEUED;   // decided on the row this attempt read
                if (mine[0]) {
                    transition(j, JobStatus.SETUP, "dispatcher started the migration", SYSTEM);
                }
            });
            return mine[0] ? Optional.of(job) : Optional.empty();
        } catch (OptimisticLockingFailureException raced) {
            return Optional.empty();
        }
    }

    /** Ends a job that could not go on, keeping the first failure. No-op on a finished job. */
    public MigrationJob fail(UUID id, String failure, String actor) {
        return inJob(id, job -> {
            job.recordFailure(failure);
            if (!job.status().isTerminal()) {
                transition(job, JobStatus.FAILED, failure, actor);
            }
        });
    }

    /** Jobs a worker is (or should be) running: setup, active, cancelling. */
    public List<MigrationJob> unfinished() {
        return jobs.findByStatusIn(List.of(JobStatus.SETUP, JobStatus.ACTIVE, JobStatus.CANCELLING));
    }

    /**
     * Applies a worker's report. Reports can arrive late or twice (retries): a report that no
     * longer fits the job's status changes nothing but its figures.
     */
    public MigrationJob recordReport(UUID id, MigrationReport report, String actor) {
        return inJob(id, job -> {
            MigrationProgress progress = report.progress();
            if (progress != null && progress.ram() != null) {
                job.recordProgress(json.writeValueAsString(progress), clock.instant());
            } else if (progress != null && progress.verification() != null) {
                job.recordDestinationVerification(json.writeValueAsString(progress.verification()));
            } else if (progress != null && progress.postcopy() != null && progress.postcopy().faultLatency() != null) {
                job.recordDestinationFaults(json.writeValueAsString(progress.postcopy().faultLatency()));
            }
            if (report.guest() != null && !report.phase().equals(MigrationReport.COMPLETED)) {
                guests.applyReport(job.guestId(), report.guest());   // the source restored it: show it now
            }
            String reason = report.reason() == null ? report.phase() : report.reason();
            switch (report.phase()) {
                case MigrationReport.ACTIVE -> {
                    if (job.status() == JobStatus.SETUP) {
                        transition(job, JobStatus.ACTIVE, reason, actor);
                    }
                }
                case MigrationReport.POSTCOPY_ACTIVE -> {
                    if (job.status() == JobStatus.SETUP) {
                        transition(job, JobStatus.ACTIVE, "pre-copy started", actor);
                    }
                    if (job.status().canMoveTo(JobStatus.POSTCOPY_ACTIVE)) {
                        if (guests.disksOf(job.guestId()).isEmpty()) {
                            handOver(job, actor);   // with disks, the destination's activation moves it
                        }
                        transition(job, JobStatus.POSTCOPY_ACTIVE, reason, actor);
                    }
                }
                case MigrationReport.POSTCOPY_PAUSED -> {
                    if (job.status().canMoveTo(JobStatus.POSTCOPY_PAUSED)) {
                        transition(job, JobStatus.POSTCOPY_PAUSED, reason, actor);
                    }
                }
                case MigrationReport.COMPLETED -> {
                    if (job.status() == JobStatus.SETUP) {
                        transition(job, JobStatus.ACTIVE, "pre-copy started", actor);
                    }
                    if (job.status() == JobStatus.POSTCOPY_PAUSED) {
                        // the recovery's own report may come after the end (reports race): it recovered
                        transition(job, JobStatus.POSTCOPY_ACTIVE, "post-copy recovered", actor);
                    }
                    if (job.status().canMoveTo(JobStatus.COMPLETED)) {
                        handOver(job, actor);
                        transition(job, JobStatus.COMPLETED, reason, actor);
                    } else if (job.status() == JobStatus.FAILED) {
                        // Given up on (e.g. source unreachable too long), yet the switchover went through:
                        // the guest runs on the destination, so the records must say so.
                        log.error("job {} was failed here, but its source reports the guest handed over; "
                                + "recording the guest on {}", job.id(), job.destinationHostId());
                        job.recordFailure("completed on the workers after it was failed here: " + reason);
                        handOver(job, actor);
                    }
                }
                case MigrationReport.FAILED -> {
                    if (!job.status().isTerminal()) {
                        job.recordFailure(reason);
                        transition(job, JobStatus.FAILED, reason, actor);
                    }
                }
                case MigrationReport.CANCELLED -> {
                    if (job.status().canMoveTo(JobStatus.CANCELLING)) {
                        transition(job, JobStatus.CANCELLING, "source stopped on cancel", actor);
                    }
                    if (job.status() == JobStatus.CANCELLING) {
                        transition(job, JobStatus.CANCELLED, reason, actor);
                    }
                }
                default -> {
                    // progress figures only
                }
            }
        });
    }

    /**
     * The destination runs the guest now: record where. With disks this already happened when
     * the destination's activation won; a guest without disks moves when the source reports.
     */
    private void handOver(MigrationJob job, String actor) {
        if (!guests.get(job.guestId()).hostId().equals(job.sourceHostId())) {
            return;   // already recorded (activation, or a retried report)
        }
        guests.moveTo(job.guestId(), hosts.find(job.destinationHostId()).orElseThrow());
    }

    /**
     * One hand-off step a worker asks for (see {@link OwnershipStep}), applied to all the
     * guest's disks in one transaction. Activation also records the guest on the destination in
     * that transaction: where the disks may be written is where the guest runs.
     *
     * @throws io.ferry.control.ownership.OwnershipConflictException when another step won
     */
    public OwnershipGrant ownershipStep(UUID jobId, OwnershipStep step, String actor) {
        MigrationJob job = get(jobId);
        Map<UUID, Long> base = new LinkedHashMap<>();
        step.disks().forEach(d -> base.put(d.diskId(), d.generation()));
        Set<UUID> guestDisks = guests.disksOf(job.guestId()).stream().map(d -> d.id()).collect(Collectors.toSet());
        if (!guestDisks.equals(base.keySet())) {
            throw new IllegalArgumentException("a hand-off step must name exactly the disks of guest " + job.guestId());
        }
        boolean activation = OwnershipStep.activates(step.step());
        String expectedHost = activation ? job.destinationHostId() : job.sourceHostId();
        if (!expectedHost.equals(step.hostId())) {
            throw new IllegalArgumentException("step " + step.step() + " of job " + jobId + " belongs to host "
                    + expectedHost + ", not " + step.hostId());
        }
        List<DiskOwnership> result = tx.execute(status -> switch (step.step()) {
            case OwnershipStep.HANDOFF -> ownership.handOff(jobId, step.hostId(), base, actor);
            case OwnershipStep.ACTIVATE, OwnershipStep.ACTIVATE_POSTCOPY -> {
                List<DiskOwnership> activated = ownership.activate(jobId, step.hostId(), base, actor);
                handOver(job, actor);
                yield activated;
            }
            case OwnershipStep.REACTIVATE -> ownership.reactivate(jobId, step.hostId(), base,
                    "the hand-off did not complete", actor);
            default -> throw new IllegalArgumentException("unknown hand-off step '" + step.step() + "'");
        });
        if (activation) {
            // The commit point of the migration: the destination is the only writer now, whatever
            // becomes of the source or the link. (The source's own report adds the final figures.)
            // In post-copy the guest runs there from now on, but the job ends with the last page.
            long generation = result.isEmpty() ? 0 : result.get(0).generation();
            String why = "destination " + step.hostId() + " activated the disks at generation " + generation
                    + " and runs the guest";
            if (step.step().equals(OwnershipStep.ACTIVATE)) {
                recordReport(jobId, new MigrationReport(jobId, MigrationReport.COMPLETED, why, null, null), actor);
            } else {
                inJob(jobId, j -> {
                    if (j.status() == JobStatus.ACTIVE) {   // a paused job is moved on by its source's recovery only
                        transition(j, JobStatus.POSTCOPY_ACTIVE, why + "; post-copy fetches the rest of its memory",
                                actor);
                    }
                });
            }
        }
        return grant(result, get(jobId));
    }

    /** The ownership records of the job's guest's disks as they are now. */
    public OwnershipGrant ownershipOf(UUID jobId) {
        MigrationJob job = get(jobId);
        return grant(guests.disksOf(job.guestId()).stream()
                .map(d -> ownership.find(d.id()).orElseThrow()).toList(), job);
    }

    /** Each disk of the job's guest with the state of both sides (see {@link JobDiskState}). */
    public List<JobDiskState> diskStates(MigrationJob job) {
        return guests.disksOf(job.guestId()).stream().map(disk -> {
            DiskOwnership now = ownership.find(disk.id()).orElseThrow();
            String source;
            String destination;
            if (!job.status().isTerminal()) {
                boolean opened = job.status() != JobStatus.QUEUED;
                if (now.state() == io.ferry.control.ownership.OwnershipState.HANDOFF) {
                    source = JobDiskState.INACTIVE;
                    destination = JobDiskState.INACTIVE;
                } else if (now.ownerHostId().equals(job.destinationHostId())) {
                    source = JobDiskState.INACTIVE;
                    destination = JobDiskState.ACTIVE;
                } else {
                    source = JobDiskState.ACTIVE;
                    destination = opened ? JobDiskState.INACTIVE : JobDiskState.ABSENT;
                }
            } else {
                // as the job left it: its last step on this disk, if it took one
                var last = ownership.history(disk.id()).stream().filter(r -> job.id().equals(r.jobId()))
                        .reduce((a, b) -> b);
                boolean handedOff = last.isPresent() && last.get().state()
                        == io.ferry.control.ownership.OwnershipState.HANDOFF;
                boolean moved = last.isPresent() && !handedOff
                        && last.get().ownerHostId().equals(job.destinationHostId());
                source = handedOff ? JobDiskState.INACTIVE : moved ? JobDiskState.ABSENT : JobDiskState.ACTIVE;
                destination = handedOff ? JobDiskState.INACTIVE : moved ? JobDiskState.ACTIVE : JobDiskState.ABSENT;
            }
            return new JobDiskState(disk.id(), disk.name(), now.ownerHostId(), now.state().apiName(),
                    now.generation(), source, destination);
        }).toList();
    }

    private static OwnershipGrant grant(List<DiskOwnership> disks, MigrationJob job) {
        return new OwnershipGrant(disks.stream().map(d -> new OwnershipGrant.Disk(d.diskId(), d.ownerHostId(),
                d.state().apiName(), d.generation())).toList(), job.status().apiName());
    }

    /** The source's figures, with the destination's digests and fault latencies merged in when it reported them. */
    public MigrationProgress progress(MigrationJob job) {
        if (job.progress() == null) {
            return null;
        }
        MigrationProgress p = json.readValue(job.progress(), MigrationProgress.class);
        if (job.destinationFaults() != null && p.postcopy() != null) {
            MigrationProgress.Postcopy s = p.postcopy();
            p = new MigrationProgress(p.setupTimeMs(), p.totalTimeMs(), p.expectedDowntimeMs(), p.downtimeMs(), p.ram(),
                    p.disk(), new MigrationProgress.Postcopy(s.requests(), s.bytesBeforePause(), s.bytesDuringPause(),
                    s.bytesAfterPause(), s.recoveries(), json.readValue(job.destinationFaults(),
                    MigrationProgress.FaultLatency.class)), p.verification());
        }
        if (job.destinationVerification() != null && p.verification() != null) {
            MigrationProgress.Verification d = json.readValue(job.destinationVerification(),
                    MigrationProgress.Verification.class);
            p = new MigrationProgress(p.setupTimeMs(), p.totalTimeMs(), p.expectedDowntimeMs(), p.downtimeMs(), p.ram(),
                    p.disk(), p.postcopy(), new MigrationProgress.Verification(p.verification().sourceMemory(),
                    d.destinationMemory(), p.verification().sourceDeviceState(), d.destinationDeviceState(),
                    p.verification().sourceDisks(), d.destinationDisks()));
        }
        return p;
    }

    /**
     * Asks the source to switch a running pre-copy job to post-copy at its next safe point; the
     * job becomes postcopy-active when the source reports the switch (RUN sent). Refused unless
     * the job is active and was started with the capability, or when the switchover already began.
     */
    public MigrationJob startPostcopy(UUID id, String actor) {
        MigrationJob job = get(id);
        job.status().checkTransition(JobStatus.POSTCOPY_ACTIVE);
        if (!job.parameters().postcopy()) {
            throw new JobConflictException("job " + id + " was not started with the postcopy capability");
        }
        if (job.status() != JobStatus.ACTIVE) {
            throw new JobConflictException("job " + id + " is " + job.status().apiName()
                    + "; only an active (pre-copy) job switches to post-copy");
        }
        askSource(job, "switch to post-copy", workers::startPostcopy);
        log.info("job {}: post-copy requested by {}", id, actor);
        return get(id);
    }

    /**
     * QEMU's migrate-recover / migrate resume=true in one call: the source reconnects to the
     * destination at once (it also retries by itself, with back-off). Only for a paused post-copy.
     */
    public MigrationJob recover(UUID id, String actor) {
        MigrationJob job = get(id);
        if (job.status() != JobStatus.POSTCOPY_PAUSED) {
            throw new JobConflictException("job " + id + " is " + job.status().apiName()
                    + "; only a postcopy-paused job can be recovered");
        }
        askSource(job, "recover", workers::recoverMigration);
        log.info("job {}: recovery requested by {}", id, actor);
        return get(id);
    }

    /** A request the job's source worker decides on; its refusal is the job's conflict (409). */
    private void askSource(MigrationJob job, String what, java.util.function.BiConsumer<Host, UUID> request) {
        try {
            request.accept(hosts.find(job.sourceHostId()).orElseThrow(), job.id());
        } catch (WorkerRejectedException refused) {
            throw new JobConflictException("the source cannot " + what + " job " + job.id() + ": "
                    + refused.getMessage());
        }
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

    /**
     * Applies {@code change} to the job in one transaction, the save being a compare-and-set on
     * its version. Workers report progress several times a second, so a request may race a
     * report: the change is then applied again to the fresh row (changes here are functions of
     * the row they are given, so a retry decides anew).
     */
    private MigrationJob inJob(UUID id, Consumer<MigrationJob> change) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", id.toString())) {
            for (int attempt = 1; ; attempt++) {
                try {
                    return tx.execute(status -> {
                        MigrationJob job = get(id);
                        change.accept(job);
                        return jobs.saveAndFlush(job);
                    });
                } catch (OptimisticLockingFailureException raced) {
                    if (attempt == 3) {
                        throw raced;
                    }
                }
            }
        }
    }

}
