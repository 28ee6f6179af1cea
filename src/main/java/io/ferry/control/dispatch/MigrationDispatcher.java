package io.ferry.control.dispatch;

import io.ferry.channel.MigrationKnowledge;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationStateReport;
import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DiskGeneration;
import io.ferry.channel.DiskLayout;
import io.ferry.control.guest.Disk;
import java.util.Map;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.StartIncomingCommand;
import io.ferry.channel.StartOutgoingCommand;
import io.ferry.channel.WorkloadSettings;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.Workload;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.QueueChanged;
import io.ferry.control.job.JobStore;
import org.springframework.transaction.event.TransactionalEventListener;
import io.ferry.control.job.ReportHandler;
import io.ferry.control.job.MigrationParameters;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.control.guest.GuestState;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import io.ferry.control.admission.AdmissionService;
import io.ferry.control.lease.JobLeases;
import io.ferry.control.lease.LeaseLostException;
import io.ferry.control.lease.SweepLease;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Starts queued jobs on their two workers and applies what workers report. A start is a
 * compare-and-set queued → setup, so two control-plane replicas never start one job twice.
 * The one-time secret that authenticates the data-plane connection is made here, handed to
 * both workers, and never stored.
 */
@Component
class MigrationDispatcher {

    private static final Logger log = LoggerFactory.getLogger(MigrationDispatcher.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String SYSTEM = "system";

    private final JobStore jobs;
    private final ReportHandler reports;
    private final GuestService guests;
    private final HostService hosts;
    private final OwnershipService ownership;
    private final WorkerGateway workers;
    private final AdmissionService admission;
    private final JobLeases leases;
    private final SweepLease sweeps;
    /** Sends start commands: one slow worker does not hold back the other jobs admitted in a pass. */
    private final ExecutorService starter = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "job-starter");
        t.setDaemon(true);
        return t;
    });
    /** Off only where a test drives job states itself. */
    private final boolean enabled;

    private final Clock clock;
    private final Duration sourceLostAfter;
    private final Duration setupTimeout;
    private final Duration finalReportWait;

    MigrationDispatcher(JobStore jobs, ReportHandler reports, GuestService guests, HostService hosts, OwnershipService ownership,
                        WorkerGateway workers, AdmissionService admission, JobLeases leases, SweepLease sweeps,
                        Clock clock,
                        @Value("${ferry.dispatcher.enabled:true}") boolean enabled,
                        @Value("${ferry.dispatcher.source-lost-after:60s}") Duration sourceLostAfter,
                        @Value("${ferry.dispatcher.setup-timeout:60s}") Duration setupTimeout,
                        @Value("${ferry.dispatcher.final-report-wait:5s}") Duration finalReportWait) {
        this.finalReportWait = finalReportWait;
        this.enabled = enabled;
        this.clock = clock;
        this.sourceLostAfter = sourceLostAfter;
        this.setupTimeout = setupTimeout;
        this.jobs = jobs;
        this.reports = reports;
        this.guests = guests;
        this.hosts = hosts;
        this.ownership = ownership;
        this.workers = workers;
        this.admission = admission;
        this.leases = leases;
        this.sweeps = sweeps;
    }

    @PreDestroy
    void stop() {
        starter.shutdownNow();
    }

    @Scheduled(fixedDelayString = "${ferry.dispatcher.interval:200ms}")
    void dispatch() {
        if (!enabled) {
            return;
        }
        if (sweeps.held()) {
            admitAndStart();   // a pass also runs on any replica where a job is queued or ends (onQueueChanged)
        }
        for (MigrationJob job : jobs.unfinished()) {
            if (!leases.drives(job.id())) {
                continue;   // another replica drives it
            }
            try {
                check(job);
            } catch (LeaseLostException lost) {
                log.info("job {}: {}", job.id(), lost.getMessage());
            }
        }
    }

    /** The driver's checks of one unfinished job: completed without its final report, or abandoned. */
    private void check(MigrationJob job) {
        if (handedOverWithoutFinalReport(job)) {
            reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.COMPLETED,
                    "the destination runs the guest since " + job.updatedAt() + "; the source sent no final "
                            + "figures within " + finalReportWait.toMillis() + " ms", null, null), SYSTEM);
            return;
        }
        String reason = abandoned(job);
        if (reason != null) {
            try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", job.id().toString())) {
                log.warn("job {} can no longer finish: {}", job.id(), reason);
                jobs.failAsDriver(job.id(), reason, SYSTEM);
                hosts.find(job.sourceHostId()).filter(Host::isReachable).ifPresent(source -> quietly(() ->
                        workers.cancelMigration(source, job.id())));
                cleanUpDestination(job);
            }
        }
    }

    /** A new job, or slots a finished job gave back, need not wait for the next pass (passes are serialized by admission's lock). */
    @TransactionalEventListener(fallbackExecution = true)
    void onQueueChanged(QueueChanged changed) {
        if (enabled) {
            starter.execute(this::admitAndStart);
        }
    }

    /** Every job the limits allow leaves the queue in one pass; the workers' commands go out in parallel. */
    private void admitAndStart() {
        try {
            for (MigrationJob job : admission.admit()) {
                starter.execute(() -> start(job));
            }
        } catch (RuntimeException e) {
            log.warn("admission pass failed (the next one retries): {}", e.toString());
        }
    }

    /**
     * The destination took the guest over (its record moved with the disks' activation), but the
     * source's final report, which completes the job with its figures, has not come: the source
     * died or lost the control plane. The job is completed anyway: the guest runs there.
     */
    private boolean handedOverWithoutFinalReport(MigrationJob job) {
        if (job.status() != JobStatus.ACTIVE && job.status() != JobStatus.CANCELLING) {
            return false;
        }
        Guest guest = guests.get(job.guestId());
        return guest.hostId().equals(job.destinationHostId())
                && drivenFrom(job).plus(finalReportWait).isBefore(clock.instant())
                && !finalReportOnItsWay(job);
    }

    /**
     * The source's worker process still holds the job (sending, or handed over with its final
     * report retried until a control plane has it), or is out of touch for less than
     * {@code source-lost-after}: its figures are coming. This matters after a restart or a
     * takeover, when the wait above has long passed by the time the worker reaches a replica;
     * completing without them would show figures the report then contradicts.
     */
    private boolean finalReportOnItsWay(MigrationJob job) {
        Instant now = clock.instant();
        Host source = hosts.find(job.sourceHostId()).orElse(null);
        if (source == null || drivenFrom(job).plus(sourceLostAfter).isBefore(now)) {
            return false;
        }
        if (!source.isReachable()) {
            return lostFrom(job, source).plus(sourceLostAfter).isAfter(now);
        }
        try {
            MigrationStateReport known = workers.migrationState(source, job.id());
            return java.util.Objects.equals(known.workerInstance(), job.sourceWorkerInstance())
                    && (known.state() == MigrationKnowledge.SENDING || known.state() == MigrationKnowledge.HANDED_OVER);
        } catch (RuntimeException e) {
            return true;   // no answer now: ask again on the next pass
        }
    }

    /**
     * Why an unfinished job can no longer end by itself, or null. Only facts count: the source
     * worker restarted (the guest was lost with it), the source is gone far longer than a blip,
     * or a start never got going (e.g. the control plane died between setup and the commands).
     */
    private String abandoned(MigrationJob job) {
        Instant now = clock.instant();
        Guest guest = guests.get(job.guestId());
        Host source = hosts.find(job.sourceHostId()).orElse(null);
        if (guest.hostId().equals(job.destinationHostId())) {
            return null;   // handed over: the guest runs on the destination, so the job can only complete
        }
        if (guest.state() == GuestState.LOST) {
            return "the source worker on '" + job.sourceHostId() + "' restarted; the guest was lost with it";
        }
        if (source != null && !source.isReachable() && lostFrom(job, source).plus(sourceLostAfter).isBefore(now)) {
            return "source host '" + source.id() + "' unreachable since " + source.lastHeartbeatAt();
        }
        if (job.status() == JobStatus.SETUP && drivenFrom(job).plus(setupTimeout).isBefore(now)) {
            return "setup did not finish within " + setupTimeout.toSeconds() + " s";
        }
        return null;
    }

    /**
     * Where a driver's waits on a job count from: its last change, or this replica's admission or
     * takeover if later. A restart or takeover does not inherit time nobody drove the job (a
     * control plane that took a minute to come back must not give up on reports it could not
     * have received meanwhile).
     */
    private Instant drivenFrom(MigrationJob job) {
        Instant since = leases.drivenSince(job.id());
        return job.updatedAt().isAfter(since) ? job.updatedAt() : since;
    }

    /**
     * Where a source's silence counts from: its last heartbeat, or this replica's admission or
     * takeover if later. A control plane that was down heard no heartbeat meanwhile; the source
     * may well be alive and on its way back.
     */
    private Instant lostFrom(MigrationJob job, Host source) {
        Instant since = drivenFrom(job);
        return source.lastHeartbeatAt().isAfter(since) ? source.lastHeartbeatAt() : since;
    }

    private static void quietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            log.debug("best-effort clean-up failed: {}", e.getMessage());
        }
    }

    /** Sends the job's start commands to its two workers (a fresh data-plane secret each time). */
    void start(MigrationJob job) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", job.id().toString())) {
            Host source = hosts.find(job.sourceHostId()).orElseThrow();
            Host destination = hosts.find(job.destinationHostId()).orElseThrow();
            Guest guest = guests.get(job.guestId());
            MigrationParameters p = job.parameters();
            String secret = newSecret();
            // the first compare-and-set of the hand-off: the disks are the source's, at these generations
            Map<UUID, Long> base = ownership.expectActive(
                    guests.disksOf(guest.id()).stream().map(Disk::id).toList(), source.id());
            workers.startIncoming(destination, new StartIncomingCommand(job.id(), layout(guest, base), secret,
                    p.verifyChecksums(), p.storage(), p.channels(),
                    p.convergence().compression().method()));
            workers.startOutgoing(source, new StartOutgoingCommand(job.id(), guest.id(), destination.dataAddress(),
                    secret, base.entrySet().stream().map(e -> new DiskGeneration(e.getKey(), e.getValue())).toList(),
                    p.settings()));
            log.info("job {} started: {} -> {} ({})", job.id(), source.id(), destination.id(),
                    destination.dataAddress());
        } catch (RuntimeException e) {
            log.warn("job {} could not start: {}", job.id(), e.getMessage());
            try {
                jobs.failAsDriver(job.id(), "could not start: " + e.getMessage(), SYSTEM);
                cleanUpDestination(job);
            } catch (LeaseLostException lost) {
                log.info("job {}: {}", job.id(), lost.getMessage());   // its new driver settles it
            }
        }
    }

    /**
     * Applies a worker's report; a job that ended without the guest moving releases the
     * destination. Returns false when a migration still running on a worker belongs to a job
     * that has already ended here (e.g. failed while its source was unreachable): the worker
     * should stop it.
     */
    boolean report(UUID jobId, MigrationReport report) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", jobId.toString())) {
            if (report.phase().isRunning() && jobs.get(jobId).status().isTerminal()) {
                return false;
            }
            MigrationJob job = reports.recordReport(jobId, report, "worker");
            if (job.status() == JobStatus.FAILED || job.status() == JobStatus.CANCELLED) {
                cleanUpDestination(job);
            }
            return true;
        }
    }

    /** Best effort: the destination drops an incoming guest that will never be resumed. */
    void cleanUpDestination(MigrationJob job) {
        hosts.find(job.destinationHostId()).filter(Host::isReachable).ifPresent(destination -> {
            try {
                workers.cancelMigration(destination, job.id());
            } catch (RuntimeException e) {
                log.debug("destination {} clean-up for job {}: {}", destination.id(), job.id(), e.getMessage());
            }
        });
    }

    private CreateGuestCommand layout(Guest guest, Map<UUID, Long> generations) {
        Workload w = guest.workload();
        return new CreateGuestCommand(guest.id(),
                guest.ramBlocks().stream().map(b -> new RamBlockLayout(b.name(), b.sizeBytes())).toList(),
                guests.disksOf(guest.id()).stream().map(d -> new DiskLayout(d.id(), d.name(), d.sizeBytes(),
                        generations.get(d.id()))).toList(),
                guest.deviceStateBytes(),
                new WorkloadSettings(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed()));
    }

    private static String newSecret() {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        return Base64.getEncoder().encodeToString(secret);
    }
}
