package io.ferry.control.metrics;

import io.ferry.channel.MigrationProgress;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobViews;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.QueueChanged;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.persistence.EntityManager;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.event.TransactionalEventListener;

/**
 * Job metrics of this replica: how long migrations took and how long their guests were paused,
 * by outcome, recorded once when a job becomes terminal; and how many unfinished jobs are in
 * each status, cluster-wide.
 *
 * <p>A job that ends publishes {@link QueueChanged} (its admission slots are free); that event,
 * delivered after the transaction that ended the job commits, is the hook here: the job is read
 * back as it was committed, so its figures are the stored ones and a rolled-back end records
 * nothing. Each job becomes terminal once, on one replica, so the histograms summed over
 * replicas count every job once.
 *
 * <p>Only unfinished statuses are gauged: their count is what an operator watches, and counting
 * them uses the status index however many finished jobs the table holds. Finished jobs are
 * counted by the duration histogram's {@code _count}, by outcome.
 */
@Component
public class JobMetrics {

    private static final Logger log = LoggerFactory.getLogger(JobMetrics.class);

    /** Jobs run from seconds (a small guest on a fast link) to an hour (a large busy one, throttled). */
    private static final Duration[] DURATION_BUCKETS = {
            Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(5),
            Duration.ofMinutes(10), Duration.ofMinutes(30), Duration.ofHours(1)};
    /** Downtime limits are tens to hundreds of milliseconds; a slow disk hand-off takes seconds. */
    private static final Duration[] DOWNTIME_BUCKETS = {
            Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
            Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
            Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};
    /** A scrape (every replica, every scrape interval) reads the counts at most this often. */
    private static final Duration COUNT_TTL = Duration.ofSeconds(5);
    private static final List<JobStatus> UNFINISHED =
            Arrays.stream(JobStatus.values()).filter(s -> !s.isTerminal()).toList();

    private final JobViews jobs;
    private final EntityManager entities;
    private final Clock clock;
    private final Map<JobStatus, Timer> durations = new EnumMap<>(JobStatus.class);
    private final Map<JobStatus, Timer> downtimes = new EnumMap<>(JobStatus.class);
    /** Guarded by this: the last counts read, and when. */
    private Map<JobStatus, Long> counts = Map.of();
    private Instant countedAt = Instant.MIN;

    JobMetrics(JobViews jobs, EntityManager entities, Clock clock, MeterRegistry meters) {
        this.jobs = jobs;
        this.entities = entities;
        this.clock = clock;
        for (JobStatus outcome : JobStatus.values()) {
            if (!outcome.isTerminal()) {
                continue;
            }
            durations.put(outcome, Timer.builder("ferry.migration.duration")
                    .description("time from admission to the end of a job, by outcome")
                    .tag("outcome", outcome.apiName())
                    .serviceLevelObjectives(DURATION_BUCKETS)
                    .register(meters));
            downtimes.put(outcome, Timer.builder("ferry.migration.downtime")
                    .description("time the guest was paused at switchover (the source's figure), by outcome; "
                            + "jobs that never switched over have none")
                    .tag("outcome", outcome.apiName())
                    .serviceLevelObjectives(DOWNTIME_BUCKETS)
                    .register(meters));
        }
        for (JobStatus status : UNFINISHED) {
            Gauge.builder("ferry.jobs", this, m -> m.count(status))
                    .description("unfinished jobs in each status, cluster-wide")
                    .tag("status", status.apiName())
                    .register(meters);
        }
    }

    @TransactionalEventListener(fallbackExecution = true)
    void onQueueChanged(QueueChanged changed) {
        try {
            MigrationJob job = jobs.get(changed.jobId());
            if (job.status().isTerminal()) {
                ended(job);
            }
        } catch (RuntimeException e) {
            log.warn("job {}: its metrics were not recorded: {}", changed.jobId(), e.toString());
        }
    }

    void ended(MigrationJob job) {
        if (job.startedAt() != null && job.finishedAt() != null) {
            durations.get(job.status()).record(Duration.between(job.startedAt(), job.finishedAt()));
        }
        MigrationProgress progress = jobs.progress(job);
        if (progress != null && progress.downtimeMs() != null) {
            downtimes.get(job.status()).record(Duration.ofMillis(progress.downtimeMs()));
        }
    }

    private synchronized double count(JobStatus status) {
        Instant now = clock.instant();
        if (countedAt.plus(COUNT_TTL).isBefore(now)) {
            Map<JobStatus, Long> fresh = new EnumMap<>(JobStatus.class);
            entities.createQuery("select j.status, count(j) from MigrationJob j where j.status in :statuses "
                            + "group by j.status", Object[].class)
                    .setParameter("statuses", UNFINISHED)
                    .getResultList()
                    .forEach(row -> fresh.put((JobStatus) row[0], (Long) row[1]));
            counts = fresh;
            countedAt = now;
        }
        return counts.getOrDefault(status, 0L);
    }
}
