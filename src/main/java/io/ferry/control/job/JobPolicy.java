package io.ferry.control.job;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import java.util.List;

/**
 * The time rules a job runs under, resolved once when it is created from the matching policy
 * (or none) and kept with the job: a later edit of the policy does not change a running job.
 * A timeout of 0 means none.
 */
@Embeddable
public class JobPolicy {

    /** The policy the settings came from; null when none matched. */
    @Column(name = "policy_name")
    private String policyName;

    @Column(name = "completion_timeout_per_gib_s", nullable = false)
    private long completionTimeoutPerGiBSeconds;

    @Column(name = "progress_timeout_s", nullable = false)
    private long progressTimeoutSeconds;

    @Column(name = "escalation", nullable = false)
    private String escalation;

    /** How long each rung of the ladder gets before the next one is taken. */
    @Column(name = "escalation_grace_s", nullable = false)
    private long escalationGraceSeconds;

    @Column(name = "downtime_ramp", nullable = false)
    private String downtimeRamp;

    protected JobPolicy() {
    }

    public JobPolicy(String policyName, long completionTimeoutPerGiBSeconds, long progressTimeoutSeconds,
                     List<EscalationStep> escalation, long escalationGraceSeconds, DowntimeRamp downtimeRamp) {
        this.policyName = policyName;
        this.completionTimeoutPerGiBSeconds = completionTimeoutPerGiBSeconds;
        this.progressTimeoutSeconds = progressTimeoutSeconds;
        this.escalation = EscalationStep.format(escalation);
        this.escalationGraceSeconds = escalationGraceSeconds;
        this.downtimeRamp = downtimeRamp.format();
    }

    public static JobPolicy none(long escalationGraceSeconds) {
        return new JobPolicy(null, 0, 0, List.of(), escalationGraceSeconds, DowntimeRamp.NONE);
    }

    public String policyName() {
        return policyName;
    }

    public long completionTimeoutPerGiBSeconds() {
        return completionTimeoutPerGiBSeconds;
    }

    public long progressTimeoutSeconds() {
        return progressTimeoutSeconds;
    }

    public List<EscalationStep> escalation() {
        return EscalationStep.parse(escalation);
    }

    public long escalationGraceSeconds() {
        return escalationGraceSeconds;
    }

    public DowntimeRamp downtimeRamp() {
        return DowntimeRamp.parse(downtimeRamp);
    }
}
