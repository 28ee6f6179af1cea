package io.ferry.control.dispatch;

import io.ferry.channel.MigrationKnowledge;
import io.ferry.channel.MigrationStateReport;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.job.JobEvent;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.lease.LeaseLostException;
import java.util.Objects;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.stereotype.Component;

/**
 * Settles a job this replica has just taken over (from a dead replica, or from this replica's
 * previous process) from what its two workers know of it. The table (README, "Restarts and
 * takeovers"):
 * <ul>
 * <li>post-copy (active or paused): nothing to do; the workers recover their link themselves;</li>
 * <li>active or cancelling: the source runs or ran the migration and its reports (retried by the
 *     worker until a replica has them) move the job on; a lost source is the dispatcher's rule;</li>
 * <li>setup, the source knows the job: its reports move it on;</li>
 * <li>setup, the source does not know it: the replica that admitted it stopped before the start
 *     commands reached the workers. The destination's half, if any, is dropped and both
 *     commands are sent again with a new data-plane secret;</li>
 * <li>a worker that does not answer: nothing now; the dispatcher's rules (source lost, setup
 *     timeout) decide on facts, as for any job.</li>
 * </ul>
 * A job is never failed because a control plane stopped.
 */
@Component
class JobTakeover {

    private static final Logger log = LoggerFactory.getLogger(JobTakeover.class);
    private static final long DESTINATION_RELEASE_WAIT_MS = 10_000;

    private final JobStore jobs;
    private final HostService hosts;
    private final WorkerGateway workers;
    private final MigrationDispatcher dispatcher;

    JobTakeover(JobStore jobs, HostService hosts, WorkerGateway workers, MigrationDispatcher dispatcher) {
        this.jobs = jobs;
        this.hosts = hosts;
        this.workers = workers;
        this.dispatcher = dispatcher;
    }

    void settle(UUID jobId) {
        try (MDC.MDCCloseable ignored = MDC.putCloseable("jobId", jobId.toString())) {
            MigrationJob job = jobs.get(jobId);
            if (job.status() != JobStatus.SETUP) {
                log.info("job {} taken over in {}: its workers carry on and report", jobId, job.status().apiName());
                return;
            }
            Host source = hosts.find(job.sourceHostId()).orElseThrow();
            MigrationStateReport atSource = workers.migrationState(source, jobId);
            if (atSource.state() != MigrationKnowledge.UNKNOWN) {
                log.info("job {} taken over in setup: the source says {}; it carries on", jobId,
                        atSource.state().wireName());
                return;
            }
            if (!Objects.equals(atSource.workerInstance(), job.sourceWorkerInstance())) {
                log.info("job {} taken over in setup: the source worker restarted; the dispatcher settles it", jobId);
                return;
            }
            Host destination = hosts.find(job.destinationHostId()).orElseThrow();
            boolean dropped = releaseDestination(destination, jobId);
            jobs.inJobAsDriver(jobId, j -> {
                if (j.status() == JobStatus.SETUP) {
                    j.touch(jobs.clock().instant());
                    jobs.note(j, JobEvent.Kind.DECISION, "start commands sent again: the replica that admitted the "
                            + "job stopped before they reached the workers" + (dropped
                            ? " (the destination's prepared half was dropped first)" : ""), JobStore.SYSTEM);
                }
            });
            dispatcher.start(jobs.get(jobId));
        } catch (LeaseLostException lost) {
            log.info("job {}: {}", jobId, lost.getMessage());
        } catch (RuntimeException e) {
            // a worker that does not answer: the dispatcher's rules decide on facts later
            log.warn("job {} taken over, but could not be settled now: {}", jobId, e.toString());
        }
    }

    /** Drops the destination's prepared half of the job, if it has one; waits until it is gone. */
    private boolean releaseDestination(Host destination, UUID jobId) {
        if (workers.migrationState(destination, jobId).state() == MigrationKnowledge.UNKNOWN) {
            return false;
        }
        workers.cancelMigration(destination, jobId);
        long deadline = System.currentTimeMillis() + DESTINATION_RELEASE_WAIT_MS;
        while (workers.migrationState(destination, jobId).state() != MigrationKnowledge.UNKNOWN) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("destination " + destination.id() + " still holds its half of job "
                        + jobId + " " + DESTINATION_RELEASE_WAIT_MS + " ms after it was cancelled");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        return true;
    }
}
