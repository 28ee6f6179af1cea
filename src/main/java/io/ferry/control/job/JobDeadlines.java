package io.ferry.control.job;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A running job's deadlines and how far its escalation ladder has gone, stored with the job so
 * that a restarted control plane enforces the same ones. The completion deadline is fixed when
 * the job starts; the progress deadline moves each time the bytes left to send reach a new
 * low. Once a timeout fired, each further rung of the ladder follows after the policy's grace.
 */
@Embeddable
public class JobDeadlines {

    private static final double GIB = 1024.0 * 1024 * 1024;

    @Column(name = "completion_deadline_at")
    private Instant completionDeadlineAt;

    @Column(name = "progress_deadline_at")
    private Instant progressDeadlineAt;

    @Column(name = "least_remaining_bytes")
    private Long leastRemainingBytes;

    /** Rungs of the ladder taken so far. */
    @Column(name = "escalation_step", nullable = false)
    private int escalationStep;

    @Column(name = "next_escalation_at")
    private Instant nextEscalationAt;

    /** Steps of the downtime ramp applied so far. */
    @Column(name = "ramp_step", nullable = false)
    private int rampStep;

    /** Which timeout fired. */
    public enum Timeout {
        COMPLETION, PROGRESS
    }

    protected JobDeadlines() {
    }

    static JobDeadlines none() {
        return new JobDeadlines();
    }

    /** Arms the deadlines at the job's start. */
    void start(Instant now, long transferBytes, JobPolicy policy) {
        if (policy.completionTimeoutPerGiBSeconds() > 0) {
            long ms = (long) Math.ceil(policy.completionTimeoutPerGiBSeconds() * 1000.0 * transferBytes / GIB);
            completionDeadlineAt = now.plusMillis(Math.max(ms, 1000));
        }
        if (policy.progressTimeoutSeconds() > 0) {
            progressDeadlineAt = now.plusSeconds(policy.progressTimeoutSeconds());
        }
    }

    /** Progress is a new low of what is left to send; it re-arms the progress timeout. */
    void recordRemaining(long remainingBytes, Instant now, JobPolicy policy) {
        if (leastRemainingBytes == null || remainingBytes < leastRemainingBytes) {
            leastRemainingBytes = remainingBytes;
            if (policy.progressTimeoutSeconds() > 0 && progressDeadlineAt != null) {
                progressDeadlineAt = now.plusSeconds(policy.progressTimeoutSeconds());
            }
        }
    }

    /** The timeout that has fired by {@code now} and not been escalated yet, or null. */
    Timeout firedTimeout(Instant now) {
        if (escalationStep > 0) {
            return null;
        }
        if (completionDeadlineAt != null && !now.isBefore(completionDeadlineAt)) {
            return Timeout.COMPLETION;
        }
        if (progressDeadlineAt != null && !now.isBefore(progressDeadlineAt)) {
            return Timeout.PROGRESS;
        }
        return null;
    }

    /** The next rung of the ladder if it is due by {@code now}, or null. */
    EscalationStep dueStep(Instant now, List<EscalationStep> ladder) {
        if (escalationStep >= ladder.size()) {
            return null;
        }
        if (escalationStep == 0) {
            return firedTimeout(now) == null ? null : ladder.get(0);
        }
        return nextEscalationAt != null && !now.isBefore(nextEscalationAt) ? ladder.get(escalationStep) : null;
    }

    void escalated(Instant now, long graceSeconds) {
        escalationStep++;
        nextEscalationAt = now.plus(Duration.ofSeconds(graceSeconds));
    }

    /** The ramp step due by {@code now} (counted from the job's start), or null. */
    DowntimeRamp.Step dueRampStep(Instant startedAt, Instant now, DowntimeRamp ramp) {
        if (startedAt == null || rampStep >= ramp.steps().size()) {
            return null;
        }
        DowntimeRamp.Step next = ramp.steps().get(rampStep);
        return now.isBefore(startedAt.plusSeconds(next.afterSeconds())) ? null : next;
    }

    void rampApplied() {
        rampStep++;
    }

    public Instant completionDeadlineAt() {
        return completionDeadlineAt;
    }

    public Instant progressDeadlineAt() {
        return progressDeadlineAt;
    }

    public Long leastRemainingBytes() {
        return leastRemainingBytes;
    }

    public int escalationStep() {
        return escalationStep;
    }

    public Instant nextEscalationAt() {
        return nextEscalationAt;
    }

    public int rampStep() {
        return rampStep;
    }
}
