package io.ferry.channel;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** SHA-256 checksums of a guest taken with its workload held still, so two copies can be compared. */
public record GuestChecksumsReport(UUID guestId, String memory, List<Block> ramBlocks, List<Disk> disks,
                                   String deviceState, Instant takenAt) {

    public record Block(String name, long sizeBytes, String sha256) {
    }

    public record Disk(UUID diskId, String name, String sha256) {
    }
}
