package io.ferry.control.api;

import io.ferry.control.guest.Guest;
import io.ferry.control.guest.Workload;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

record GuestResponse(UUID id, String name, String hostId, String state, long memoryBytes,
                     List<RamBlockView> ramBlocks, int deviceStateBytes, WorkloadView workload, List<DiskResponse> disks,
                     UUID activeMigrationId, Map<String, String> labels, Instant createdAt) {

    record RamBlockView(String name, long sizeBytes) {
    }

    record WorkloadView(long dirtyPagesPerSecond, double hotSetFraction, long diskWritesPerSecond, long seed) {
    }

    static GuestResponse of(Guest g, List<DiskResponse> disks) {
        Workload w = g.workload();
        return new GuestResponse(g.id(), g.name(), g.hostId(), g.state().apiName(), g.memoryBytes(),
                g.ramBlocks().stream().map(b -> new RamBlockView(b.name(), b.sizeBytes())).toList(),
                g.deviceStateBytes(),
                new WorkloadView(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed()),
                disks, g.activeJobId(), new TreeMap<>(g.labels()), g.createdAt());
    }
}
