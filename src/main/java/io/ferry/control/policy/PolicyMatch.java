package io.ferry.control.policy;

import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobPolicy;
import io.ferry.control.job.JobPriority;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.control.job.MigrationParameters;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.control.job.RequestedParameters;
import io.ferry.channel.StorageMode;
import io.ferry.control.system.Labels;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which policy a guest's move falls under, and the settings that follow: small pure functions
 * (see PolicyMatchTest). A policy matches when its guest selector is in the guest's labels and
 * its host selector in the source host's labels; the most specific match wins (most selector
 * labels), ties go to the name first in alphabetical order. Request parameters override the
 * policy, the policy overrides the defaults.
 */
final class PolicyMatch {

    /** When a timeout is set but no ladder, the job is aborted (KubeVirt's and Nova's default action). */
    static final List<EscalationStep> DEFAULT_LADDER = List.of(EscalationStep.ABORT);

    private PolicyMatch() {
    }

    static Optional<MigrationPolicy> select(List<MigrationPolicy> policies, Map<String, String> guestLabels,
                                            Map<String, String> hostLabels) {
        return policies.stream()
                .filter(p -> Labels.matches(p.guestSelector(), guestLabels) && Labels.matches(p.hostSelector(), hostLabels))
                .min(Comparator.comparingInt(MigrationPolicy::specificity).reversed()
                        .thenComparing(MigrationPolicy::name));
    }

    /** Settings resolved for one job. {@code storage} null: chosen from the hosts (shared datastore or not). */
    record Resolved(MigrationParameters parameters, StorageMode storage, JobPriority priority, JobPolicy policy,
                    Map<String, String> destinationSelector) {
    }

    static Resolved resolve(RequestedParameters r, MigrationPolicy policy, long defaultGraceSeconds,
                            StorageMode storageForHosts) {
        PolicySettings p = policy == null ? PolicySettings.NONE : policy.settings();
        StorageMode storage = first(r.storage(), p.storage(), storageForHosts);
        boolean postcopy = first(r.postcopy(), p.allowPostcopy(), false);
        ConvergenceSettings convergence = RequestedConvergence.resolve(r.convergence(), p.convergence());
        MigrationParameters parameters = new MigrationParameters(
                first(r.maxBandwidth(), p.maxBandwidth(), MigrationParameters.DEFAULT_MAX_BANDWIDTH),
                first(r.downtimeLimitMs(), p.downtimeLimitMs(), MigrationParameters.DEFAULT_DOWNTIME_LIMIT_MS),
                storage,
                postcopy,
                convergence,
                // QEMU's multifd-channels default (post-copy too, as from QEMU 10.0: multifd carries its
                // pre-copy rounds); one with XBZRLE (QEMU: "Multifd is not compatible with xbzrle")
                first(r.channels(), convergence.xbzrle().enabled() ? 1 : MigrationParameters.DEFAULT_CHANNELS),
                first(r.verifyChecksums(), p.verifyChecksums(), false),
                first(r.postcopyAfterIterations(), 0),
                first(r.postcopyWhenNotConverging(), false),
                first(r.maxPostcopyBandwidth(), 0L));
        long completion = first(p.completionTimeoutPerGiB(), 0L);
        long progress = first(p.progressTimeout(), 0L);
        List<EscalationStep> ladder = p.escalation() != null && !p.escalation().isEmpty() ? p.escalation()
                : completion > 0 || progress > 0 ? DEFAULT_LADDER : List.of();
        JobPolicy jobPolicy = new JobPolicy(policy == null ? null : policy.name(), completion, progress, ladder,
                first(p.escalationGrace(), defaultGraceSeconds), first(p.downtimeRamp(), DowntimeRamp.NONE));
        return new Resolved(parameters, storage, first(r.priority(), p.priority(), JobPriority.USER), jobPolicy,
                p.destinationSelector() == null ? Map.of() : p.destinationSelector());
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }
}
