package io.ferry.control.policy;

import io.ferry.control.lease.JobLeases;
import io.ferry.control.lease.LeaseLostException;
import io.ferry.channel.TuneMigrationCommand;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobDeadlines;
import io.ferry.control.job.JobEvent;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationCommands;
import io.ferry.control.job.MigrationJob;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Enforces the deadlines stored on running jobs: the downtime ramp's steps, and the escalation
 * ladder once a completion or progress timeout fired. Each step is first recorded on the job
 * (a compare-and-set on its row, so two replicas never take the same step twice, and a
 * restarted control plane resumes where the last one stopped), then carried out. Deadlines
 * apply to pre-copy only: a job in post-copy holds the only copy of parts of the guest on each
 * side and is never aborted.
 */
@Component
class DeadlineEnforcer {

    private static final Logger log = LoggerFactory.getLogger(DeadlineEnforcer.class);

    private final JobStore jobs;
    private final MigrationCommands commands;
    private final HostService hosts;
    private final WorkerGateway workers;
    private final Clock clock;
    private final JobLeases leases;
    private final boolean enabled;

    DeadlineEnforcer(JobStore jobs, MigrationCommands commands, HostService hosts, WorkerGateway workers, Clock clock,
                     JobLeases leases, @Value("${ferry.dispatcher.enabled:true}") boolean enabled) {
        this.leases = leases;
        this.jobs = jobs;
        this.commands = commands;
        this.hosts = hosts;
        this.workers = workers;
        this.clock = clock;
        this.enabled = enabled;
    }

    @Scheduled(fixedDelayString = "${ferry.policy.check-interval:500ms}")
    void enforce() {
        if (!enabled) {
            return;
        }
        for (MigrationJob job : jobs.unfinished()) {
            if (!leases.drives(job.id())) {
                continue;   // another replica drives it
            }
            try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", job.id().toString())) {
                ramp(job);
                escalate(job);
            } catch (LeaseLostException lost) {
                log.info("job {}: {}", job.id(), lost.getMessage());
            } catch (RuntimeException e) {
                log.warn("job {}: deadline check failed: {}", job.id(), e.toString());
            }
        }
    }

    private void ramp(MigrationJob seen) {
        Instant now = clock.instant();
        if (seen.dueRampStep(now) == null) {
            return;
        }
        DowntimeRamp.Step[] taken = new DowntimeRamp.Step[1];
        MigrationJob job = jobs.inJobAsDriver(seen.id(), j -> {
            taken[0] = j.dueRampStep(now);
            if (taken[0] != null) {
                jobs.recordRamp(j, taken[0].downtimeLimitMs(), "downtime ramp of policy '" + j.policy().policyName()
                        + "': " + taken[0].afterSeconds() + " s after the start, the downtime limit is "
                        + taken[0].downtimeLimitMs() + " ms");
            }
        });
        if (taken[0] != null) {
            try {
                workers.tuneMigration(hosts.find(job.sourceHostId()).orElseThrow(), job.id(),
                        new TuneMigrationCommand(job.parameters().maxBandwidth(), taken[0].downtimeLimitMs(), null));
            } catch (RuntimeException e) {
                log.info("job {}: the source did not take the ramp's limit yet ({}); it starts with it", job.id(),
                        e.getMessage());
            }
        }
    }

    private void escalate(MigrationJob seen) {
        Instant now = clock.instant();
        EscalationStep due = seen.dueEscalation(now);
        if (due == null) {
            return;
        }
        String[] why = new String[1];
        MigrationJob job = jobs.inJobAsDriver(seen.id(), j -> {
            why[0] = null;
            if (j.dueEscalation(now) == due) {
                why[0] = cause(j, now) + ": " + action(due, j);
                jobs.recordEscalation(j, due == EscalationStep.POSTCOPY && !j.parameters().postcopy(), why[0]);
            }
        });
        if (why[0] == null) {
            return;   // another replica took it
        }
        log.warn("job {}: {}", job.id(), why[0]);
        carryOut(job, due);
    }

    private void carryOut(MigrationJob job, EscalationStep step) {
        String actor = "policy:" + job.policy().policyName();
        try {
            switch (step) {
                case POSTCOPY -> {
                    if (job.parameters().postcopy()) {
                        commands.startPostcopy(job.id(), actor);
                    }
                }
                case PAUSE -> commands.forceComplete(job.id(), actor);
                case ABORT -> commands.cancel(job.id(), actor);
            }
        } catch (RuntimeException refused) {
            jobs.inJob(job.id(), j -> jobs.note(j, JobEvent.Kind.ESCALATION, step.apiName() + " could not be carried "
                    + "out: " + refused.getMessage(), actor));
        }
    }

    private static String action(EscalationStep step, MigrationJob job) {
        return switch (step) {
            case POSTCOPY -> job.parameters().postcopy() ? "switched to post-copy"
                    : "post-copy skipped (the job may not use it)";
            case PAUSE -> "paused the guest so the copy finishes (force-complete)";
            case ABORT -> "aborted: the guest stays on the source";
        };
    }

    /** Why the ladder moves: the timeout that fired, or the grace the previous rung was given. */
    private static String cause(MigrationJob job, Instant now) {
        JobDeadlines d = job.deadlines();
        if (d.escalationStep() > 0) {
            EscalationStep previous = job.policy().escalation().get(d.escalationStep() - 1);
            return "still running " + job.policy().escalationGraceSeconds() + " s after " + previous.apiName();
        }
        if (d.completionDeadlineAt() != null && !now.isBefore(d.completionDeadlineAt())) {
            return String.format(Locale.ROOT, "not completed within %d s per GiB (%.3f GiB: deadline %s)",
                    job.policy().completionTimeoutPerGiBSeconds(), job.transferBytes() / (double) (1L << 30),
                    d.completionDeadlineAt());
        }
        return "no progress for " + job.policy().progressTimeoutSeconds() + " s (least remaining "
                + d.leastRemainingBytes() + " bytes)";
    }
}
