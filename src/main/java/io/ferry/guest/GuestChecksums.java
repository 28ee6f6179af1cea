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

    private static volatile double digestNanosPerByte;

    /**
     * What taking checksums costs on this host, in nanoseconds per byte: SHA-256 of 8 MiB, timed
     * once (the second pass, after the first warmed the code) and kept.
     */
    public static double digestNanosPerByte() {
        double known = digestNanosPerByte;
        if (known > 0) {
            return known;
        }
        byte[] sample = new byte[8 << 20];
        new java.util.SplittableRandom(1).nextBytes(sample);
        java.security.MessageDigest digest = Sha256.newDigest();
        digest.update(sample);
        digest.digest();
        long start = System.nanoTime();
        digest.update(sample);
        digest.digest();
        known = Math.max(0.01, (System.nanoTime() - start) / (double) sample.length);
        digestNanosPerByte = known;
        return known;
    }

    public record BlockChecksum(String name, long sizeBytes, String sha256) {
    }

    public record DiskChecksum(String diskId, String name, String sha256) {
    }
}
