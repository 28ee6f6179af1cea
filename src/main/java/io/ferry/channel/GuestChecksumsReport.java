package io.ferry.channel;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * SHA-256 checksums of a guest taken with its workload held still, so two copies can be compared;
 * with the number of disk writes acknowledged to the guest, from which its images can be rebuilt.
 */
public record GuestChecksumsReport(UUID guestId, String memory, List<Block> ramBlocks, List<Disk> disks,
                                   String deviceState, long diskWritesAcknowledged, Instant takenAt) {

    public record Block(String name, long sizeBytes, String sha256) {
    }

    public record Disk(UUID diskId, String name, String sha256) {
    }
}
