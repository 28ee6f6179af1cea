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

    /** 1 MiB of noise: what {@link #digestNanosPerByte} hashes. */
    private static final byte[] SAMPLE = sample();

    private static byte[] sample() {
        byte[] sample = new byte[1 << 20];
        new java.util.SplittableRandom(1).nextBytes(sample);
        return sample;
    }

    /**
     * What taking checksums costs on this host now, in nanoseconds per byte: SHA-256 of 1 MiB,
     * timed (about a millisecond). Timed afresh on each call, so it sees the cores as busy as they
     * are: several pauses, or several jobs sending, share them.
     */
    public static double digestNanosPerByte() {
        java.security.MessageDigest digest = Sha256.newDigest();
        long start = System.nanoTime();
        digest.update(SAMPLE);
        digest.digest();
        return Math.max(0.01, (System.nanoTime() - start) / (double) SAMPLE.length);
    }

    public record BlockChecksum(String name, long sizeBytes, String sha256) {
    }

    public record DiskChecksum(String diskId, String name, String sha256) {
    }
}
