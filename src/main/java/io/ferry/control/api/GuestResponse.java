package io.ferry.control.api;

import io.ferry.control.guest.DirtyRateMeasurement;
import io.ferry.control.guest.DirtyRateStatus;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.Workload;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

record GuestResponse(UUID id, String name, String hostId, String runtime, String state, String failure,
                     long memoryBytes, List<RamBlockView> ramBlocks, int deviceStateBytes, WorkloadView workload,
                     List<DiskResponse> disks, UUID activeMigrationId, Map<String, String> labels,
                     DirtyRateView dirtyRate, Instant createdAt) {

    record RamBlockView(String name, long sizeBytes) {
    }

    record WorkloadView(long dirtyPagesPerSecond, double hotSetFraction, long diskWritesPerSecond, long seed) {
    }

    /**
     * The guest's latest dirty-rate measurement (QEMU's query-dirty-rate). Figures are null until
     * measured; {@code reason} is null unless failed. {@code now} decides whether a run that never
     * answered still counts as measuring.
     */
    record DirtyRateView(String status, String mode, long windowMs, int samplePagesPerGiB, String hostId,
                         Instant startedAt, Instant measuredAt, Double measuredWindowMs, Long sampledPages,
                         Double dirtyPagesPerSecond, Double dirtyBytesPerSecond, Double zeroPageFraction,
                         String reason) {

        static DirtyRateView of(DirtyRateMeasurement m, Instant now) {
            DirtyRateStatus status = m.status(now);
            boolean measured = status == DirtyRateStatus.MEASURED;
            return new DirtyRateView(status.apiName(), m.mode().apiName(), m.windowMs(), m.samplePagesPerGiB(),
                    m.hostId(), m.startedAt(), m.measuredAt(), measured ? m.measuredWindowMs() : null,
                    measured ? m.sampledPages() : null, measured ? m.dirtyPagesPerSecond() : null,
                    measured ? m.dirtyBytesPerSecond() : null, measured ? m.zeroPageFraction() : null, m.reason(now));
        }
    }

    static GuestResponse of(Guest g, List<DiskResponse> disks, DirtyRateView dirtyRate) {
        Workload w = g.workload();
        return new GuestResponse(g.id(), g.name(), g.hostId(), g.runtime().apiName(), g.state().apiName(),
                g.failure(), g.memoryBytes(),
                g.ramBlocks().stream().map(b -> new RamBlockView(b.name(), b.sizeBytes())).toList(),
                g.deviceStateBytes(),
                new WorkloadView(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed()),
                disks, g.activeJobId(), new TreeMap<>(g.labels()), dirtyRate, g.createdAt());
    }
}
