package io.ferry.guest;

/**
 * What the synthetic guest's workload does: how fast it dirties memory and disk, and where.
 *
 * @param dirtyPagesPerSecond memory writes per second (each dirties one page); 0 for none
 * @param hotSetFraction share of guest pages the memory writes fall on, in (0, 1]: the first
 *     {@code ceil(fraction × totalPages)} pages across the RAM blocks in order
 * @param diskWritesPerSecond 4 KiB block writes per second over all disks; 0 for none
 * @param seed seeds every random choice, so a run with the same spec writes the same sequence
 * @param bytesPerWrite how much of its page a memory write rewrites with random bytes, at a random
 *     offset aligned to it: a power of two from 8 to the page size ({@link #DEFAULT_BYTES_PER_WRITE}
 *     unless said). Small writes leave re-sent pages mostly as they were, which XBZRLE encodes
 *     well; a page-sized write changes a page everywhere
 */
public record WorkloadSpec(long dirtyPagesPerSecond, double hotSetFraction, long diskWritesPerSecond, long seed,
                           int bytesPerWrite) {

    /** A cache line. */
    public static final int DEFAULT_BYTES_PER_WRITE = 64;

    public WorkloadSpec(long dirtyPagesPerSecond, double hotSetFraction, long diskWritesPerSecond, long seed) {
        this(dirtyPagesPerSecond, hotSetFraction, diskWritesPerSecond, seed, DEFAULT_BYTES_PER_WRITE);
    }

    public WorkloadSpec {
        if (bytesPerWrite < Long.BYTES || bytesPerWrite > RamBlock.PAGE_SIZE || Integer.bitCount(bytesPerWrite) != 1) {
            throw new IllegalArgumentException("bytesPerWrite must be a power of two from 8 to " + RamBlock.PAGE_SIZE
                    + ", was " + bytesPerWrite);
        }
        if (dirtyPagesPerSecond < 0) {
            throw new IllegalArgumentException("dirtyPagesPerSecond must be >= 0, was " + dirtyPagesPerSecond);
        }
        // Written so that NaN fails too.
        if (!(hotSetFraction > 0.0 && hotSetFraction <= 1.0)) {
            throw new IllegalArgumentException("hotSetFraction must be in (0, 1], was " + hotSetFraction);
        }
        if (diskWritesPerSecond < 0) {
            throw new IllegalArgumentException("diskWritesPerSecond must be >= 0, was " + diskWritesPerSecond);
        }
    }

    /** A guest that writes nothing: its memory and disks stay as they are. */
    public static WorkloadSpec idle() {
        return new WorkloadSpec(0, 1.0, 0, 0);
    }

    boolean isIdle() {
        return dirtyPagesPerSecond == 0 && diskWritesPerSecond == 0;
    }
}
