package io.ferry.guest;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * QEMU's {@code calc-dirty-rate}: how fast a guest dirties memory, measured without migrating
 * it, in either of QEMU's two modes:
 *
 * <ul>
 *   <li>page-sampling ({@link #measure}): pages are chosen at random (seeded, without repeats) in
 *       every RAM block, in proportion to its size: {@code ceil(samplePagesPerGiB × blockBytes / GiB)},
 *       at least one and at most the whole block. Each is hashed (CRC-32C) at the start of the
 *       window and again at its end; a page whose hash differs changed. Per block the changed
 *       share is scaled up to the block's pages, and the sum over the window's length is the rate.
 *       A page written back with the bytes it had, or a CRC collision (2<sup>-32</sup>), is missed;
 *   <li>dirty-bitmap ({@link #measureDirtyLog}): an exact count from a dirty log of the
 *       measurement's own, which the guest's writes mark beside the migration's log (QEMU's
 *       {@code GLOBAL_DIRTY_DIRTY_RATE}), so it neither takes nor clears bits a migration needs.
 *       One such measurement per guest at a time. The sample is still taken, for the zero-page
 *       share only.
 * </ul>
 *
 * <p>What the figure means: <em>distinct</em> pages changed within the window, per second — the
 * pages a pre-copy round of that length would have to send again. It is not the guest's write
 * rate: a page written twice in the window counts once, so a guest whose writes fall in a small
 * hot set measures at most {@code hotSetPages / window}, however fast it writes. A longer window
 * therefore gives a lower figure for such a guest, as a longer pre-copy round would. A paused
 * guest changes nothing and measures 0.
 *
 * <p>Nothing here stops or slows the guest, so a migration may run meanwhile. Each pass holds the
 * guest's memory open (a guest closed during the window ends the measurement with
 * IllegalStateException); the wait between the passes holds nothing.
 * No Spring, no threads of its own: the caller's thread waits out the window.
 */
public final class DirtyRateSampler {

    private static final long GIB = 1L << 30;
    /** QEMU's default {@code sample-pages}. */
    public static final int DEFAULT_SAMPLE_PAGES_PER_GIB = 512;
    /** Every page of a GiB: sampling becomes an exact count. */
    public static final int MAX_SAMPLE_PAGES_PER_GIB = (int) (GIB / RamBlock.PAGE_SIZE);

    private DirtyRateSampler() {
    }

    /**
     * Hashes the sampled pages now, waits {@code window}, hashes them again.
     *
     * @throws InterruptedException if interrupted while waiting (the guest is untouched)
     * @throws IllegalStateException if the guest is closed before or during the measurement
     */
    public static Result measure(SyntheticGuest guest, Duration window, int samplePagesPerGiB, long seed)
            throws InterruptedException {
        Baseline baseline = begin(guest, samplePagesPerGiB, seed);
        Thread.sleep(window.toMillis(), window.toNanosPart() % 1_000_000);
        return baseline.finish();
    }

    /**
     * Counts the pages the guest writes during {@code window} in a dirty log of the measurement's
     * own (exact, to within the one write in flight at either end). {@link Result#estimatedDirtyPages}
     * is that count; the sample (hashed at both ends as by {@link #measure}) gives the zero-page
     * share and its own {@code changedPages}.
     *
     * @throws InterruptedException if interrupted while waiting (the log is stopped, the guest untouched)
     * @throws IllegalStateException if the guest is closed, or another dirty-bitmap measurement of it runs
     */
    public static Result measureDirtyLog(SyntheticGuest guest, Duration window, int samplePagesPerGiB, long seed)
            throws InterruptedException {
        DirtyLog log = beginDirtyLog(guest, samplePagesPerGiB, seed);
        try {
            Thread.sleep(window.toMillis(), window.toNanosPart() % 1_000_000);
        } catch (InterruptedException e) {
            log.cancel();
            throw e;
        }
        return log.finish();
    }

    /**
     * Hashes the sample, then starts the measurement's dirty log; {@link DirtyLog#finish()} stops
     * it and hashes the sample again.
     *
     * @throws IllegalStateException if the guest is closed, or another dirty-bitmap measurement of it runs
     */
    public static DirtyLog beginDirtyLog(SyntheticGuest guest, int samplePagesPerGiB, long seed) {
        Baseline baseline = begin(guest, samplePagesPerGiB, seed);
        List<DirtyBitmap> logs = guest.memory().blocks().stream().map(b -> new DirtyBitmap(b.pageCount())).toList();
        if (!guest.startDirtyRateLog(logs)) {
            throw new IllegalStateException("guest " + guest.id() + " is already being measured with its dirty log");
        }
        return new DirtyLog(guest, baseline, logs, System.nanoTime());
    }

    /** A running dirty-log measurement. */
    public static final class DirtyLog {
        private final SyntheticGuest guest;
        private final Baseline baseline;
        private final List<DirtyBitmap> logs;
        private final long startedNanos;

        private DirtyLog(SyntheticGuest guest, Baseline baseline, List<DirtyBitmap> logs, long startedNanos) {
            this.guest = guest;
            this.baseline = baseline;
            this.logs = logs;
            this.startedNanos = startedNanos;
        }

        /** Stops the log and counts it; the window is the time it ran. */
        public Result finish() {
            guest.stopDirtyRateLog(logs);
            long windowNanos = Math.max(1, System.nanoTime() - startedNanos);
            Result sample = baseline.finish();
            long dirty = logs.stream().mapToLong(DirtyBitmap::count).sum();
            return new Result(sample.sampledPages(), sample.changedPages(), sample.totalPages(), dirty,
                    sample.estimatedZeroPages(), windowNanos);
        }

        /** Stops the log without a result. */
        public void cancel() {
            guest.stopDirtyRateLog(logs);
        }
    }

    /** The first pass: chooses the pages and hashes them. {@link Baseline#finish()} is the second. */
    public static Baseline begin(SyntheticGuest guest, int samplePagesPerGiB, long seed) {
        Objects.requireNonNull(guest, "guest");
        if (samplePagesPerGiB < 1 || samplePagesPerGiB > MAX_SAMPLE_PAGES_PER_GIB) {
            throw new IllegalArgumentException("samplePagesPerGiB must be 1.." + MAX_SAMPLE_PAGES_PER_GIB + ", was "
                    + samplePagesPerGiB);
        }
        SplittableRandom random = new SplittableRandom(seed);
        return guest.readingMemory(() -> {
            List<RamBlock> blocks = guest.memory().blocks();
            long[][] pages = new long[blocks.size()][];
            for (int b = 0; b < blocks.size(); b++) {
                RamBlock block = blocks.get(b);
                long wanted = Math.max(1, ceilDiv(samplePagesPerGiB * block.sizeBytes(), GIB));
                pages[b] = choose(block.pageCount(), (int) Math.min(block.pageCount(), wanted), random.split());
            }
            long start = System.nanoTime();
            int[][] hashes = hash(blocks, pages);
            return new Baseline(guest, blocks, pages, hashes, start, System.nanoTime());
        });
    }

    /** The sampled pages and their hashes at the start of the window. */
    public static final class Baseline {
        private final SyntheticGuest guest;
        private final List<RamBlock> blocks;
        private final long[][] pages;
        private final int[][] hashes;
        private final long startedNanos;
        private final long hashedNanos;

        private Baseline(SyntheticGuest guest, List<RamBlock> blocks, long[][] pages, int[][] hashes,
                         long startedNanos, long hashedNanos) {
            this.guest = guest;
            this.blocks = blocks;
            this.pages = pages;
            this.hashes = hashes;
            this.startedNanos = startedNanos;
            this.hashedNanos = hashedNanos;
        }

        /**
         * Hashes the pages again. The window is the time between the two passes, taken as the mean
         * of start-to-start and end-to-end (each page is read at about the same point of both).
         */
        public Result finish() {
            return guest.readingMemory(() -> {
                long start = System.nanoTime();
                int[][] now = hash(blocks, pages);
                long end = System.nanoTime();
                long windowNanos = Math.max(1, ((start - startedNanos) + (end - hashedNanos)) / 2);
                long sampled = 0;
                long changed = 0;
                long total = 0;
                double estimate = 0;
                double zero = 0;
                for (int b = 0; b < blocks.size(); b++) {
                    long blockChanged = 0;
                    long blockZero = 0;
                    for (int i = 0; i < now[b].length; i++) {
                        if (now[b][i] != hashes[b][i]) {
                            blockChanged++;
                        }
                        if (now[b][i] == ZERO_PAGE_CRC) {
                            blockZero++;   // a collision with a non-zero page is a 2^-32 chance
                        }
                    }
                    zero += (double) blockZero / pages[b].length * blocks.get(b).pageCount();
                    sampled += pages[b].length;
                    changed += blockChanged;
                    total += blocks.get(b).pageCount();
                    estimate += (double) blockChanged / pages[b].length * blocks.get(b).pageCount();
                }
                return new Result(sampled, changed, total, estimate, zero, windowNanos);
            });
        }
    }

    /**
     * One measurement. {@code estimatedDirtyPages}: the distinct pages changed in the window,
     * estimated per block from its sample (or counted in the dirty log); {@code windowNanos}: the
     * time between the two passes (or while the dirty log ran).
     */
    public record Result(long sampledPages, long changedPages, long totalPages, double estimatedDirtyPages,
                         double estimatedZeroPages, long windowNanos) {

        /** The share of memory that is all zero at the end of the window (pre-copy sends such a page as one byte). */
        public double zeroFraction() {
            return totalPages == 0 ? 0 : estimatedZeroPages / totalPages;
        }

        public double dirtyPagesPerSecond() {
            return estimatedDirtyPages / (windowNanos / 1e9);
        }

        public double dirtyBytesPerSecond() {
            return dirtyPagesPerSecond() * RamBlock.PAGE_SIZE;
        }
    }

    /** CRC32C of a page of zeros. */
    static final int ZERO_PAGE_CRC;

    static {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(new byte[RamBlock.PAGE_SIZE]);
        ZERO_PAGE_CRC = (int) crc.getValue();
    }

    private static int[][] hash(List<RamBlock> blocks, long[][] pages) {
        int[][] hashes = new int[blocks.size()][];
        for (int b = 0; b < blocks.size(); b++) {
            hashes[b] = new int[pages[b].length];
            for (int i = 0; i < pages[b].length; i++) {
                hashes[b][i] = blocks.get(b).crc32c(pages[b][i]);
            }
        }
        return hashes;
    }

    /**
     * {@code n} distinct pages of {@code [0, pageCount)}, ascending (so a pass reads memory in
     * order): Floyd's algorithm for a small share, a selection scan (Knuth's algorithm S) for a
     * large one, both uniform over every n-subset.
     */
    static long[] choose(long pageCount, int n, SplittableRandom random) {
        long[] chosen = new long[n];
        if ((long) n * 4 >= pageCount) {
            int taken = 0;
            for (long page = 0; page < pageCount && taken < n; page++) {
                if (random.nextLong(pageCount - page) < n - taken) {
                    chosen[taken++] = page;
                }
            }
            return chosen;
        }
        Set<Long> picked = new HashSet<>(n * 2);
        for (long j = pageCount - n; j < pageCount; j++) {
            long t = random.nextLong(j + 1);
            picked.add(picked.contains(t) ? j : t);
        }
        int i = 0;
        for (long page : picked) {
            chosen[i++] = page;
        }
        Arrays.sort(chosen);
        return chosen;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
