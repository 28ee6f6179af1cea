package io.ferry.control.job;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.guest.GuestService;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;
import tools.jackson.databind.json.JsonMapper;

/**
 * Applies workers' reports to jobs: figures to the row (at a bounded rate, see
 * {@link ProgressThrottle}), status changes by {@link ReportTable} at once.
 */
@Service
public class ReportHandler {

    private static final Logger log = LoggerFactory.getLogger(ReportHandler.class);

    private final JobStore store;
    private final GuestService guests;
    private final JsonMapper json;
    private final ProgressThrottle throttle;
    private final EventRecorder recorder;

    ReportHandler(JobStore store, GuestService guests, JsonMapper json, ProgressThrottle throttle,
                  EventRecorder recorder) {
        this.store = store;
        this.guests = guests;
        this.json = json;
        this.throttle = throttle;
        this.recorder = recorder;
    }

    public MigrationJob recordReport(UUID id, MigrationReport report, String actor) {
        synchronized (throttle.lock(id)) {
            MigrationProgress progress = report.progress();
            boolean figures = progress != null && progress.ram() != null;
            Instant now = store.clock().instant();
            if (figures && report.phase() == MigrationPhase.PROGRESS && report.guest() == null
                    && !throttle.writeDue(id, now)) {
                MigrationJob current = store.get(id);
                if (!current.status().isTerminal() && ReportTable.steps(current.status(), report.phase()).isEmpty()) {
                    throttle.hold(id, progress, json.writeValueAsString(progress));
                    return current;
                }
            }
            // figures in this report are newer than held ones; a report without figures takes them along
            ProgressThrottle.Held held = throttle.take(id);
            MigrationProgress written = figures ? progress : held == null ? null : held.progress();
            boolean push = written != null && throttle.pushDue(id, now);
            MigrationJob job = store.inJob(id, j -> apply(j, report, held, push, now, actor));
            if (written != null) {
                throttle.written(id, now);
            }
            if (job.status().isTerminal()) {
                throttle.forget(id);
            }
            return job;
        }
    }

    private void apply(MigrationJob job, MigrationReport report, ProgressThrottle.Held held, boolean push,
                       Instant now, String actor) {
        MigrationProgress progress = report.progress();
        if (progress != null && progress.ram() != null) {
            // A terminal job's figures are final: the ones it ended with (a report retried after
            // the end, e.g. once the dispatcher completed it without them, changes nothing).
            if (!job.status().isTerminal()) {
                job.recordProgress(json.writeValueAsString(progress), progress, now);
            }
        } else {
            if (held != null && !job.status().isTerminal()) {
                job.recordProgress(held.json(), held.progress(), now);
            }
            if (progress != null && progress.verification() != null) {
                job.recordDestinationVerification(json.writeValueAsString(progress.verification()));
            } else if (progress != null && progress.postcopy() != null && progress.postcopy().faultLatency() != null) {
                job.recordDestinationFaults(json.writeValueAsString(progress.postcopy().faultLatency()));
            }
        }
        if (report.guest() != null && report.phase() != MigrationPhase.COMPLETED) {
            guests.applyReport(job.guestId(), report.guest());   // the source restored it: show it now
        }
        String reason = report.reason() == null ? report.phase().wireName() : report.reason();
        for (ReportTable.Step step : ReportTable.steps(job.status(), report.phase())) {
            if (step instanceof ReportTable.To to) {
                store.transition(job, to.status(), to.reason() == null ? reason : to.reason(), actor);
            } else if (step instanceof ReportTable.HandOver) {
                store.handOver(job);
            } else if (step instanceof ReportTable.HandOverWithoutDisks) {
                if (guests.disksOf(job.guestId()).isEmpty()) {
                    store.handOver(job);
                }
            } else if (step instanceof ReportTable.RecordFailure failure) {
                if (job.status() == JobStatus.FAILED) {
                    log.error("job {} was failed here, but its source reports the guest handed over; "
                            + "recording the guest on {}", job.id(), job.destinationHostId());
                }
                job.recordFailure(failure.prefix() + reason);
            }
        }
        MigrationProgress pushed = progress != null && progress.ram() != null ? progress
                : held == null ? null : held.progress();
        if (push && pushed != null) {
            progressed(job, pushed, now);
        }
    }

    /** Writes held figures that are due; a job that ended meanwhile keeps the figures it ended with. */
    @Scheduled(fixedDelayString = "${ferry.events.progress-flush-check:100ms}")
    void flushHeld() {
        Instant now = store.clock().instant();
        for (UUID id : toList(throttle.holding())) {
            if (!throttle.writeDue(id, now)) {
                continue;
            }
            try {
                synchronized (throttle.lock(id)) {
                    ProgressThrottle.Held held = throttle.take(id);
                    if (held == null) {
                        continue;
                    }
                    boolean push = throttle.pushDue(id, now);
                    store.inJob(id, job -> {
                        if (!job.status().isTerminal()) {
                            job.recordProgress(held.json(), held.progress(), now);
                            if (push) {
                                progressed(job, held.progress(), now);
                            }
                        }
                    });
                    throttle.written(id, now);
                }
            } catch (RuntimeException e) {
                log.warn("job {}: writing held progress failed: {}", id, e.toString());
            }
        }
        throttle.expire(now.minus(Duration.ofMinutes(5)));
    }

    private static List<UUID> toList(Iterable<UUID> ids) {
        List<UUID> list = new java.util.ArrayList<>();
        ids.forEach(list::add);
        return list;
    }

    private void progressed(MigrationJob job, MigrationProgress p, Instant at) {
        MigrationProgress.Ram ram = p.ram();
        MigrationProgress.Disk disk = p.disk();
        recorder.record(new Payloads.JobProgressed(job.id(), job.guestId(), job.sourceHostId(),
                job.destinationHostId(), job.status().apiName(), p.totalTimeMs(), p.expectedDowntimeMs(),
                p.downtimeMs(), ram.total() + (disk == null ? 0 : disk.total()),
                ram.transferred() + (disk == null ? 0 : disk.transferred()),
                ram.remaining() + (disk == null ? 0 : disk.remaining()), ram.iterations(), ram.mbps(),
                ram.dirtyPagesRate(), faultP99(job, p)), at);
    }

    /** The post-copy fault latency's p99: the destination measures it and reports it apart from the source's figures. */
    private Double faultP99(MigrationJob job, MigrationProgress p) {
        if (p.postcopy() != null && p.postcopy().faultLatency() != null && p.postcopy().faultLatency().p99Ms() != null) {
            return p.postcopy().faultLatency().p99Ms();
        }
        if (p.postcopy() != null && job.destinationFaults() != null) {
            return json.readValue(job.destinationFaults(), MigrationProgress.FaultLatency.class).p99Ms();
        }
        return null;
    }
}
