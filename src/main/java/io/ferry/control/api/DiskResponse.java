package io.ferry.control.api;

import io.ferry.control.guest.Disk;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipRecord;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

record DiskResponse(UUID id, UUID guestId, String name, long sizeBytes, Ownership ownership, Instant createdAt) {

    record Ownership(String ownerHostId, String state, long generation, Instant updatedAt) {

        static Ownership of(DiskOwnership o) {
            return new Ownership(o.ownerHostId(), o.state().apiName(), o.generation(), o.updatedAt());
        }
    }

    static DiskResponse of(Disk d, DiskOwnership o) {
        return new DiskResponse(d.id(), d.guestId(), d.name(), d.sizeBytes(), Ownership.of(o), d.createdAt());
    }
}

record OwnershipResponse(UUID diskId, String ownerHostId, String state, long generation, Instant updatedAt,
                         List<HistoryEntry> history) {

    record HistoryEntry(long generation, String ownerHostId, String state, String fromOwnerHostId, String fromState,
                        UUID jobId, String reason, String actor, Instant at) {
    }

    static OwnershipResponse of(DiskOwnership o, List<OwnershipRecord> history) {
        return new OwnershipResponse(o.diskId(), o.ownerHostId(), o.state().apiName(), o.generation(), o.updatedAt(),
                history.stream().map(r -> new HistoryEntry(r.generation(), r.ownerHostId(), r.state().apiName(),
                        r.fromOwnerHostId(), r.fromState() == null ? null : r.fromState().apiName(), r.jobId(),
                        r.reason(), r.actor(), r.at())).toList());
    }
}
