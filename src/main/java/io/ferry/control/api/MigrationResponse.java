package io.ferry.control.api;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationProgress;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobDeadlines;
import io.ferry.control.job.JobDriver;
import io.ferry.control.job.JobEvent;
import io.ferry.control.job.JobPolicy;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.MigrationParameters;
import io.ferry.control.job.JobDiskState;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** A job as the API shows it. {@code progress} stays null until the source reports figures. */
record MigrationResponse(UUID id, UUID guestId, String sourceHostId, String destinationHostId, String status,
                         String statusReason, String failure, String priority, String waitingFor,
                         ParametersView parameters, PolicyView policy, DeadlinesView deadlines,
                         MigrationProgress progress, List<JobDiskState> disks, JobDriver driver, UUID drainId,
                         Instant createdAt,
                         Instant updatedAt, Instant startedAt, Instant finishedAt) {

    record RampStepView(long afterSeconds, long downtimeLimitMs) {
    }

    /** The time rules the job runs under and the policy they came from ({@code name} null: none matched). */
    record PolicyView(String name, long completionTimeoutPerGiB, long progressTimeout, List<String> escalation,
                      long escalationGrace, List<RampStepView> downtimeRamp) {

        static PolicyView of(JobPolicy p) {
            return new PolicyView(p.policyName(), p.completionTimeoutPerGiBSeconds(), p.progressTimeoutSeconds(),
                    p.escalation().stream().map(EscalationStep::apiName).toList(), p.escalationGraceSeconds(),
                    p.downtimeRamp().steps().stream().map(r -> new RampStepView(r.afterSeconds(), r.downtimeLimitMs()))
                            .toList());
        }
    }

    /** The deadlines that follow from the policy, and how far the escalation ladder has gone. */
    record DeadlinesView(Instant completion, Instant progress, Long leastRemainingBytes, int escalationsTaken,
                         String nextEscalation, Instant nextEscalationAt) {

        static DeadlinesView of(MigrationJob j) {
            JobDeadlines d = j.deadlines();
            List<EscalationStep> ladder = j.policy().escalation();
            String next = d.escalationStep() < ladder.size() ? ladder.get(d.escalationStep()).apiName() : null;
            return new DeadlinesView(d.completionDeadlineAt(), d.progressDeadlineAt(), d.leastRemainingBytes(),
                    d.escalationStep(), next, d.escalationStep() > 0 ? d.nextEscalationAt() : null);
        }
    }

    record ParametersView(long maxBandwidth, long downtimeLimitMs, String storage, boolean verifyChecksums,
                          CapabilitiesView capabilities, int postcopyAfterIterations,
                          boolean postcopyWhenNotConverging, long maxPostcopyBandwidth,
                          ConvergenceView convergence) {

        static ParametersView of(MigrationParameters p) {
            ConvergenceSettings c = p.convergence();
            return new ParametersView(p.maxBandwidth(), p.downtimeLimitMs(), p.storage().apiName(),
                    p.verifyChecksums(), new CapabilitiesView(p.postcopy(), c.autoConverge().enabled(),
                    c.xbzrle().enabled(), c.compression().method().apiName(), p.channels()),
                    p.postcopyAfterIterations(), p.postcopyWhenNotConverging(), p.maxPostcopyBandwidth(),
                    ConvergenceView.of(c));
        }
    }

    /** The convergence tools' resolved parameters (openapi.yaml's ConvergenceTuning, every field set). */
    record ConvergenceView(int cpuThrottleInitial, int cpuThrottleIncrement, int maxCpuThrottle,
                           boolean cpuThrottleTailslow, long xbzrleCacheSize, Integer compressionLevel) {

        static ConvergenceView of(ConvergenceSettings c) {
            return new ConvergenceView(c.autoConverge().initialPercent(), c.autoConverge().incrementPercent(),
                    c.autoConverge().maxPercent(), c.autoConverge().tailSlow(), c.xbzrle().cacheSizeBytes(),
                    c.compression().enabled() ? c.compression().level() : null);
        }
    }

    record CapabilitiesView(boolean postcopy, boolean autoConverge, boolean xbzrle, String compression, int channels) {
    }

    static MigrationResponse of(MigrationJob j, MigrationProgress progress, List<JobDiskState> disks,
                                JobDriver driver) {
        return new MigrationResponse(j.id(), j.guestId(), j.sourceHostId(), j.destinationHostId(),
                j.status().apiName(), j.statusReason(), j.failure(), j.priority().apiName(), j.waitingFor(),
                ParametersView.of(j.parameters()), PolicyView.of(j.policy()), DeadlinesView.of(j), progress, disks,
                driver, j.drainId(), j.createdAt(), j.updatedAt(), j.startedAt(), j.finishedAt());
    }
}

record JobEventResponse(Instant at, String kind, String from, String to, String reason, String actor) {

    static JobEventResponse of(JobEvent e) {
        return new JobEventResponse(e.at(), e.kind().apiName(), e.from() == null ? null : e.from().apiName(),
                e.to().apiName(), e.reason(), e.actor());
    }
}
