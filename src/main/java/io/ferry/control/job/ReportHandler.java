package io.ferry.control.job;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.control.guest.GuestService;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import tools.jackson.databind.json.JsonMapper;

/** Applies workers' reports to jobs: figures to the row, status changes by {@link ReportTable}. */
@Service
public class ReportHandler {

    private static final Logger log = LoggerFactory.getLogger(ReportHandler.class);

    private final JobStore store;
    private final GuestService guests;
    private final JsonMapper json;

    ReportHandler(JobStore store, GuestService guests, JsonMapper json) {
        this.store = store;
        this.guests = guests;
        this.json = json;
    }

    public MigrationJob recordReport(UUID id, MigrationReport report, String actor) {
        return store.inJob(id, job -> {
            MigrationProgress progress = report.progress();
            if (progress != null && progress.ram() != null) {
                job.recordProgress(json.writeValueAsString(progress), progress, store.clock().instant());
            } else if (progress != null && progress.verification() != null) {
                job.recordDestinationVerification(json.writeValueAsString(progress.verification()));
            } else if (progress != null && progress.postcopy() != null && progress.postcopy().faultLatency() != null) {
                job.recordDestinationFaults(json.writeValueAsString(progress.postcopy().faultLatency()));
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
        });
    }
}
