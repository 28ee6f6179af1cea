package io.ferry.control.job;

import io.ferry.channel.TuneMigrationCommand;
import io.ferry.control.guest.GuestBusyException;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.PlacementException;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.control.idempotency.IdempotencyKey;
import io.ferry.control.idempotency.IdempotencyService;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What callers ask of migration jobs: create, tune, cancel, switch to post-copy, recover. Each
 * decision is taken on the job's row (a compare-and-set, see {@link JobStore}); requests a
 * running migration must honour go to its source worker, whose refusal is a conflict (409).
 */
@Service
public class MigrationCommands {

    private static final Logger log = LoggerFactory.getLogger(MigrationCommands.class);

    private final JobStore store;
    private final MigrationJobRepository jobs;
    private final JobEventRepository events;
    private final GuestService guests;
    private final HostService hosts;
    private final IdempotencyService idempotency;
    private final WorkerGateway workers;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final JobPlanner planner;
    private final ApplicationEventPublisher publisher;

    MigrationCommands(JobPlanner planner, ApplicationEventPublisher publisher, JobStore store, MigrationJobRepository jobs, JobEventRepository events, GuestService guests,
                      HostService hosts, IdempotencyService idempotency, WorkerGateway workers,
                      PlatformTransactionManager txManager, Clock clock) {
        this.planner = planner;
        this.publisher = publisher;
        this.store = store;
        this.jobs = jobs;
        this.events = events;
        this.guests = guests;
        this.hosts = hosts;
        this.idempotency = idempotency;
        this.workers = workers;
        this.tx = new TransactionTemplate(txManager);
        this.clock = clock;
    }

    /** Returns the job this request (or the first request with the same key) created. */
    public MigrationJob create(NewMigration request, IdempotencyKey key, String actor) {
        UUID id = idempotency.once(key, () -> queue(request, key, actor));
        publisher.publishEvent(new QueueChanged(id));
        return get(id);
    }

    /** What this request would become, without queueing anything (pre-flight). */
    public JobPlanner.Planned plan(NewMigration request) {
        return planner.plan(request);
    }

    private UUID queue(NewMigration request, IdempotencyKey key, String actor) {
        JobPlanner.Planned planned = planner.plan(request);
        if (planned.plan() != null && !EngineFeatures.unsupported(planned.plan().parameters()).isEmpty()) {
            throw new UnsupportedFeatureException(EngineFeatures.unsupported(planned.plan().parameters()));
        }
        if (!planned.ok()) {
            // a request that contradicts itself is told so first, then a busy guest, then where it cannot go
            JobPlanner.Check first = planned.failures().stream()
                    .min(java.util.Comparator.comparing(JobPlanner.Check::refusal)).orElseThrow();
            throw switch (first.refusal()) {
                case INVALID -> new InvalidParametersException(first.detail());
                case CONFLICT -> new GuestBusyException(first.detail());
                case PLACEMENT -> new PlacementException(first.detail());
            };
        }
        JobPlan plan = planned.plan();
        UUID jobId = UUID.randomUUID();
        return tx.execute(status -> {
            idempotency.remember(key, jobId);
            if (!guests.claimForJob(plan.guestId(), jobId)) {
                throw new GuestBusyException("guest " + plan.guestId() + " already has an unfinished migration job "
                        + guests.get(plan.guestId()).activeJobId());
            }
            MigrationJob job = MigrationJob.queue(jobId, plan, clock.instant());
            jobs.saveAndFlush(job);
            store.created(job, actor);
            log.info("job {} queued: guest {} {} -> {}, priority {}, policy {}", jobId, plan.guestId(),
                    plan.sourceHostId(), plan.destinationHostId(), plan.priority().apiName(),
                    plan.policy().policyName() == null ? "none" : plan.policy().policyName());
            return jobId;
        });
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
                        tuned.parameters().maxBandwidth(), tuned.parameters().downtimeLimitMs(), null));
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

    /**
     * Nova's force-complete: the source holds the guest still so the pre-copy converges and the
     * job switches over; the guest runs again on the destination (or on the source if the job
     * fails after all). Only for an active pre-copy job.
     */
    public MigrationJob forceComplete(UUID id, String actor) {
        MigrationJob job = get(id);
        if (job.status() != JobStatus.ACTIVE) {
            throw new JobConflictException("job " + id + " is " + job.status().apiName()
                    + "; only an active (pre-copy) job can be forced to complete");
        }
        askSource(job, "force-complete", workers::forceCompleteMigration);
        log.info("job {}: force-complete requested by {}", id, actor);
        return get(id);
    }

    /** A request the job's source worker decides on; its refusal is the job's conflict (409). */
    private void askSource(MigrationJob job, String what, BiConsumer<Host, UUID> request) {
        try {
            request.accept(hosts.find(job.sourceHostId()).orElseThrow(), job.id());
        } catch (WorkerRejectedException refused) {
            throw new JobConflictException("the source cannot " + what + " job " + job.id() + ": "
                    + refused.getMessage());
        }
    }

    private MigrationJob get(UUID id) {
        return store.get(id);
    }

    private MigrationJob inJob(UUID id, java.util.function.Consumer<MigrationJob> change) {
        return store.inJob(id, change);
    }

    private void transition(MigrationJob job, JobStatus next, String reason, String actor) {
        store.transition(job, next, reason, actor);
    }
}
