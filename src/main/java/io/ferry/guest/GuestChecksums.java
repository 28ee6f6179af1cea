package io.ferry.guest;

import java.util.List;
import java.util.Objects;

/**
 * SHA-256 (lowercase hex) of everything a guest holds, taken with its workload held still, so
 * that the source's checksums after switchover must equal the destination's on arrival.
 *
 * @param memory all RAM blocks, concatenated in spec order
 * @param ramBlocks each RAM block, in spec order
 * @param disks each disk image, in spec order
 * @param deviceState the device-state blob
 * @param diskWritesAcknowledged disk writes acknowledged to the guest so far (see {@link DiskWritePattern})
 */
public record GuestChecksums(String memory, List<BlockChecksum> ramBlocks, List<DiskChecksum> disks,
                             String deviceState, long diskWritesAcknowledged) {

    public GuestChecksums {
        Objects.requireNonNull(memory, "memory");
        ramBlocks = List.copyOf(ramBlocks);
        disks = List.copyOf(disks);
        Objects.requireNonNull(deviceState, "deviceState");
    }

    public record BlockChecksum(String name, long sizeBytes, String sha256) {
    }

    public record DiskChecksum(String diskId, String name, String sha256) {
    }
}
