package io.ferry.control.job;

import io.ferry.channel.MigrationPhase;
import java.util.ArrayList;
import java.util.List;

/**
 * What a worker's report does to a job: a pure function of the job's status and the reported
 * phase. Reports arrive late or twice (retries), so a report that no longer fits the status
 * changes nothing but the figures; a report that skips a status (a fast job whose first report
 * is its end) walks the table's edges in order, each on the timeline.
 */
final class ReportTable {

    private ReportTable() {
    }

    /** One thing to do, in order. */
    sealed interface Step permits To, HandOver, HandOverWithoutDisks, RecordFailure {
    }

    /** Transition; {@code reason} null means the report's own reason. */
    record To(JobStatus status, String reason) implements Step {
    }

    /** Record the guest on the destination (no-op if already there). */
    record HandOver() implements Step {
    }

    /** Record the guest on the destination if it has no disks (with disks, the destination's activation moved it). */
    record HandOverWithoutDisks() implements Step {
    }

    /** Keep the report's reason as the job's failure (the first one wins); {@code prefix} goes before it. */
    record RecordFailure(String prefix) implements Step {
    }

    static final String PRECOPY_STARTED = "pre-copy started";

    static List<Step> steps(JobStatus status, MigrationPhase phase) {
        List<Step> steps = new ArrayList<>();
        switch (phase) {
            case ACTIVE -> {
                if (status == JobStatus.SETUP) {
                    steps.add(new To(JobStatus.ACTIVE, null));
                }
            }
            case POSTCOPY_ACTIVE -> {
                JobStatus now = status;
                if (now == JobStatus.SETUP) {
                    steps.add(new To(JobStatus.ACTIVE, PRECOPY_STARTED));
                    now = JobStatus.ACTIVE;
                }
                if (now.canMoveTo(JobStatus.POSTCOPY_ACTIVE)) {
                    steps.add(new HandOverWithoutDisks());
                    steps.add(new To(JobStatus.POSTCOPY_ACTIVE, null));
                }
            }
            case POSTCOPY_PAUSED -> {
                if (status.canMoveTo(JobStatus.POSTCOPY_PAUSED)) {
                    steps.add(new To(JobStatus.POSTCOPY_PAUSED, null));
                }
            }
            case COMPLETED -> {
                JobStatus now = status;
                if (now == JobStatus.SETUP) {
                    steps.add(new To(JobStatus.ACTIVE, PRECOPY_STARTED));
                    now = JobStatus.ACTIVE;
                } else if (now == JobStatus.POSTCOPY_PAUSED) {
                    // the recovery's own report may come after the end (reports race): it recovered
                    steps.add(new To(JobStatus.POSTCOPY_ACTIVE, "post-copy recovered"));
                    now = JobStatus.POSTCOPY_ACTIVE;
                }
                if (now.canMoveTo(JobStatus.COMPLETED)) {
                    steps.add(new HandOver());
                    steps.add(new To(JobStatus.COMPLETED, null));
                } else if (now == JobStatus.FAILED) {
                    // Given up on here (e.g. source unreachable too long), yet the switchover went
                    // through: the guest runs on the destination, so the records must say so.
                    steps.add(new RecordFailure("completed on the workers after it was failed here: "));
                    steps.add(new HandOver());
                }
            }
            case FAILED -> {
                if (!status.isTerminal()) {
                    steps.add(new RecordFailure(""));
                    steps.add(new To(JobStatus.FAILED, null));
                }
            }
            case CANCELLED -> {
                JobStatus now = status;
                if (now.canMoveTo(JobStatus.CANCELLING)) {
                    steps.add(new To(JobStatus.CANCELLING, "source stopped on cancel"));
                    now = JobStatus.CANCELLING;
                }
                if (now == JobStatus.CANCELLING) {
                    steps.add(new To(JobStatus.CANCELLED, null));
                }
            }
            case PROGRESS, VERIFIED -> {
                // figures only
            }
        }
        return steps;
    }
}
