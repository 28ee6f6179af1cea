package io.ferry.control.policy;

import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobPriority;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.channel.StorageMode;
import java.util.List;
import java.util.Map;

/**
 * What a policy sets; null leaves a value to the request or the default. Timeouts are in
 * seconds: {@code completionTimeoutPerGiB} per GiB moved (KubeVirt's completionTimeoutPerGiB,
 * Nova's live_migration_completion_timeout), {@code progressTimeout} while what is left to send
 * reaches no new low; {@code escalation} is the ladder taken when one fires, each rung given
 * {@code escalationGrace} before the next. {@code destinationSelector}: labels a destination
 * must carry; {@code verifyChecksums}: both sides compare digests at switchover;
 * {@code convergence}: the convergence tools (auto-converge, XBZRLE, compression) and their parameters.
 */
public record PolicySettings(Long maxBandwidth, Long downtimeLimitMs, DowntimeRamp downtimeRamp,
                             Long completionTimeoutPerGiB, Long progressTimeout, Boolean allowPostcopy,
                             StorageMode storage, JobPriority priority, List<EscalationStep> escalation,
                             Long escalationGrace, Map<String, String> destinationSelector, Boolean verifyChecksums,
                             RequestedConvergence convergence) {

    public static final PolicySettings NONE = new PolicySettings(null, null, null, null, null, null, null, null, null,
            null, null, null, RequestedConvergence.NONE);

    public PolicySettings {
        convergence = convergence == null ? RequestedConvergence.NONE : convergence;
    }
}
