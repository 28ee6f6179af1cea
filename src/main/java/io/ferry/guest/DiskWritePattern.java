package io.ferry.guest;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * What the workload's n-th disk write is, as a pure function of (seed, n): which disk, which
 * block, and the block's bytes ({@code be64 n}, {@code be64 block}, then seeded noise). The
 * workload numbers its acknowledged writes in the device state, which migrates with the guest,
 * so the destination goes on with write n + 1 — and anyone can rebuild the exact images a guest
 * must have after N acknowledged writes ({@link #expectedSha256}). A lost, stale or torn block,
 * or a write that happened though it was refused, makes them differ.
 */
public final class DiskWritePattern {

    private static final long SALT = 0x6469736b77726974L;   // "diskwrit"
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    /** Where write n goes. */
    public record Target(int disk, long block) {
    }

    private DiskWritePattern() {
    }

    /** Fills {@code into} (cleared, then flipped) with write {@code n}'s block and returns its target. */
    public static Target write(long seed, long n, long[] blockCounts, ByteBuffer into) {
        SplittableRandom random = new SplittableRandom(seed ^ SALT ^ (n * GOLDEN));
        int disk = random.nextInt(blockCounts.length);
        long block = random.nextLong(blockCounts[disk]);
        into.clear();
        into.putLong(n).putLong(block);
        while (into.remaining() >= Long.BYTES) {
            into.putLong(random.nextLong());
        }
        into.flip();
        return new Target(disk, block);
    }

    /**
     * SHA-256 (lowercase hex) of each disk after writes 1..{@code writes} on zeroed images of
     * {@code sizes} bytes, in disk order. Holds the images in memory: for tests' sizes.
     */
    public static String[] expectedSha256(long seed, long writes, long[] sizes) {
        long[] blockCounts = new long[sizes.length];
        byte[][] images = new byte[sizes.length][];
        for (int d = 0; d < sizes.length; d++) {
            blockCounts[d] = sizes[d] / DiskImage.BLOCK_SIZE;
            images[d] = new byte[Math.toIntExact(sizes[d])];
        }
        ByteBuffer block = ByteBuffer.allocate(DiskImage.BLOCK_SIZE);
        for (long n = 1; n <= writes; n++) {
            Target target = write(seed, n, blockCounts, block);
            block.get(images[target.disk()], Math.toIntExact(target.block() * DiskImage.BLOCK_SIZE),
                    DiskImage.BLOCK_SIZE);
        }
        String[] digests = new String[sizes.length];
        for (int d = 0; d < sizes.length; d++) {
            MessageDigest digest = Sha256.newDigest();
            digests[d] = HexFormat.of().formatHex(digest.digest(images[d]));
        }
        return digests;
    }
}
