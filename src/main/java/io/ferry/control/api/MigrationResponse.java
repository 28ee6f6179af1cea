package io.ferry.control.api;

import io.ferry.channel.MigrationProgress;
import io.ferry.control.job.JobEvent;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.MigrationParameters;
import io.ferry.control.job.JobDiskState;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** A job as the API shows it. {@code progress} stays null until the source reports figures. */
record MigrationResponse(UUID id, UUID guestId, String sourceHostId, String destinationHostId, String status,
                         String statusReason, String failure, ParametersView parameters, MigrationProgress progress,
                         List<JobDiskState> disks, Instant createdAt, Instant updatedAt, Instant startedAt,
                         Instant finishedAt) {

    record ParametersView(long maxBandwidth, long downtimeLimitMs, String storage, boolean verifyChecksums,
                          CapabilitiesView capabilities, int postcopyAfterIterations,
                          boolean postcopyWhenNotConverging, long maxPostcopyBandwidth) {
    }

    record CapabilitiesView(boolean postcopy, boolean autoConverge, boolean xbzrle, String compression, int channels) {
    }

    static MigrationResponse of(MigrationJob j, MigrationProgress progress, List<JobDiskState> disks) {
        MigrationParameters p = j.parameters();
        return new MigrationResponse(j.id(), j.guestId(), j.sourceHostId(), j.destinationHostId(),
                j.status().apiName(), j.statusReason(), j.failure(),
                new ParametersView(p.maxBandwidth(), p.downtimeLimitMs(), p.storage().apiName(), p.verifyChecksums(),
                        new CapabilitiesView(p.postcopy(), p.autoConverge(), p.xbzrle(), p.compression(), p.channels()),
                        p.postcopyAfterIterations(), p.postcopyWhenNotConverging(), p.maxPostcopyBandwidth()),
                progress, disks, j.createdAt(), j.updatedAt(), j.startedAt(), j.finishedAt());
    }
}

record JobEventResponse(Instant at, String from, String to, String reason, String actor) {

    static JobEventResponse of(JobEvent e) {
        return new JobEventResponse(e.at(), e.from() == null ? null : e.from().apiName(), e.to().apiName(),
                e.reason(), e.actor());
    }
}
