package io.ferry.guest;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Post-copy on the destination: which pages of each RAM block have arrived, and a software page
 * fault for the guest's accesses to the rest (what userfaultfd does for QEMU). An access to a
 * missing page asks for it once ({@link PageRequester}) and blocks only that access — the
 * workload's vCPU thread — until the page lands; everything else keeps going.
 *
 * <p>Ordering: the migration writes a page's bytes, then {@link #arrived} publishes it (a
 * volatile bit set); a vCPU that sees the bit sees the bytes.
 */
public final class DemandPaging {

    /** Asks the source for one page; called on the faulting thread, must not block for long. */
    @FunctionalInterface
    public interface PageRequester {
        void request(int blockIndex, long page);
    }

    private final AtomicLongArray[] present;
    private final AtomicLongArray[] requested;
    /** Post-copy: pages one channel is placing now ({@link #claim}); set once, never cleared after RUN. */
    private final AtomicLongArray[] placing;
    private final long[] pageCounts;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition landed = lock.newCondition();
    private volatile PageRequester requester;
    /** Accesses waiting for a page: arrivals take the lock only when someone waits. */
    private volatile int waiting;
    /** Fault wait times in nanoseconds, for p50/p99/max; guarded by lock. */
    private long[] faultNanos = new long[1024];
    private int faults;

    /** Every page present: pre-copy delivered them all once; {@link #discard} marks the ones to come again. */
    DemandPaging(GuestMemory memory) {
        int blocks = memory.blocks().size();
        present = new AtomicLongArray[blocks];
        requested = new AtomicLongArray[blocks];
        placing = new AtomicLongArray[blocks];
        pageCounts = new long[blocks];
        for (int b = 0; b < blocks; b++) {
            long pages = memory.blocks().get(b).pageCount();
            pageCounts[b] = pages;
            present[b] = new AtomicLongArray(DirtyBitmap.wordCount(pages));
            requested[b] = new AtomicLongArray(DirtyBitmap.wordCount(pages));
            placing[b] = new AtomicLongArray(DirtyBitmap.wordCount(pages));
            for (long p = 0; p < pages; p++) {
                set(present[b], p);
            }
        }
    }

    /** Marks pages missing: the source will send them again (discard before the guest runs here). */
    public void discard(int blockIndex, long firstPage, long pages) {
        for (long p = firstPage; p < firstPage + pages; p++) {
            clear(present[blockIndex], p);
            clear(requested[blockIndex], p);
            clear(placing[blockIndex], p);
        }
    }

    /** Faults from now on go to {@code requester}. */
    public void start(PageRequester requester) {
        this.requester = requester;
    }

    public boolean isPresent(int blockIndex, long page) {
        return isSet(present[blockIndex], page);
    }

    /**
     * Post-copy, with pages arriving on more than one channel: reserves a missing page for the one
     * caller that then writes it and calls {@link #arrived}. False if the page is present (the
     * guest may have written it since: it must not be overwritten) or another channel is placing
     * it (the same bytes: after RUN the source's copy no longer changes). Lock-free, so a channel
     * never waits for another's page copy.
     */
    public boolean claim(int blockIndex, long page) {
        return !isSet(present[blockIndex], page) && setIfClear(placing[blockIndex], page);
    }

    /** Pages claimed by a channel whose bytes are not in place yet. */
    public long beingPlaced() {
        long count = 0;
        for (int b = 0; b < present.length; b++) {
            for (int w = 0; w < present[b].length(); w++) {
                count += Long.bitCount(placing[b].get(w) & ~present[b].get(w));
            }
        }
        return count;
    }

    /** The page's bytes are in guest memory: publish it and wake whoever waits for it. */
    public void arrived(int blockIndex, long page) {
        set(present[blockIndex], page);
        if (waiting == 0) {
            return;   // the hot path of every arriving page: no lock unless a vCPU waits
        }
        lock.lock();
        try {
            landed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot of the block's arrived pages (bit p of word p/64), for post-copy recovery's RECV_BITMAP. */
    public long[] presentWords(int blockIndex) {
        long[] words = new long[present[blockIndex].length()];
        for (int w = 0; w < words.length; w++) {
            words[w] = present[blockIndex].get(w) & validBits(blockIndex, w);
        }
        return words;
    }

    /**
     * After a broken link was recovered: asks again for every page requested and still missing
     * (the requests, or their pages, may have been lost with the old connection).
     */
    public void requestAgain() {
        PageRequester to = requester;
        if (to == null) {
            return;
        }
        for (int b = 0; b < present.length; b++) {
            for (int w = 0; w < present[b].length(); w++) {
                long pending = requested[b].get(w) & ~present[b].get(w) & validBits(b, w);
                while (pending != 0) {
                    to.request(b, (long) w * 64 + Long.numberOfTrailingZeros(pending));
                    pending &= pending - 1;
                }
            }
        }
    }

    /** Writes a page's bytes in guest memory before it is published. */
    @FunctionalInterface
    public interface PageFill {
        void fill(int blockIndex, long page);
    }

    /**
     * Post-copy abandoned here (the source and its pages are gone): every missing page is written
     * by {@code fill} and published, so no access waits any more, and each waiting one wakes. A
     * page a channel is placing right now is left to it: it lands in microseconds, with the
     * source's bytes. The caller makes sure nothing else places pages meanwhile. Returns the pages
     * filled: those the guest lost.
     */
    public long fillMissing(PageFill fill) {
        long filled = 0;
        for (int b = 0; b < present.length; b++) {
            for (int w = 0; w < present[b].length(); w++) {
                long missing = ~present[b].get(w) & validBits(b, w);
                while (missing != 0) {
                    long page = (long) w * 64 + Long.numberOfTrailingZeros(missing);
                    missing &= missing - 1;
                    if (claim(b, page)) {
                        fill.fill(b, page);
                        arrived(b, page);
                        filled++;
                    }
                }
            }
        }
        return filled;
    }

    /** Pages still missing. */
    public long missing() {
        long missing = 0;
        for (int b = 0; b < present.length; b++) {
            for (int w = 0; w < present[b].length(); w++) {
                missing += Long.bitCount(~present[b].get(w) & validBits(b, w));
            }
        }
        return missing;
    }

    /**
     * The guest accesses {@code page}: returns at once if it is here, else requests it (once) and
     * waits until it lands. Returns false if {@code stop} turned true first (the access is retried later).
     */
    boolean access(int blockIndex, long page, BooleanSupplier stop) {
        if (isSet(present[blockIndex], page)) {
            return true;
        }
        long start = System.nanoTime();
        PageRequester to = requester;
        if (to != null && setIfClear(requested[blockIndex], page)) {
            to.request(blockIndex, page);
        }
        lock.lock();
        waiting++;   // before re-checking the bit: an arrival after this check sees the waiter and signals
        try {
            while (!isSet(present[blockIndex], page)) {
                if (stop.getAsBoolean()) {
                    return false;
                }
                landed.awaitNanos(10_000_000L);
            }
            recordFault(System.nanoTime() - start);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            waiting--;
            lock.unlock();
        }
    }

    /** Fault wait times so far, in nanoseconds, sorted. */
    public long[] faultLatencies() {
        lock.lock();
        try {
            long[] copy = Arrays.copyOf(faultNanos, faults);
            Arrays.sort(copy);
            return copy;
        } finally {
            lock.unlock();
        }
    }

    private void recordFault(long nanos) {
        if (faults == faultNanos.length) {
            faultNanos = Arrays.copyOf(faultNanos, faults * 2);
        }
        faultNanos[faults++] = nanos;
    }

    private long validBits(int block, int word) {
        long remaining = pageCounts[block] - (long) word * 64;
        return remaining >= 64 ? -1L : (1L << remaining) - 1;
    }

    private static boolean isSet(AtomicLongArray bits, long page) {
        return (bits.get((int) (page >>> 6)) & (1L << page)) != 0;
    }

    private static void set(AtomicLongArray bits, long page) {
        int w = (int) (page >>> 6);
        long mask = 1L << page;
        long old;
        do {
            old = bits.get(w);
        } while ((old & mask) == 0 && !bits.compareAndSet(w, old, old | mask));
    }

    private static boolean setIfClear(AtomicLongArray bits, long page) {
        int w = (int) (page >>> 6);
        long mask = 1L << page;
        while (true) {
            long old = bits.get(w);
            if ((old & mask) != 0) {
                return false;
            }
            if (bits.compareAndSet(w, old, old | mask)) {
                return true;
            }
        }
    }

    private static void clear(AtomicLongArray bits, long page) {
        int w = (int) (page >>> 6);
        long mask = 1L << page;
        long old;
        do {
            old = bits.get(w);
        } while ((old & mask) != 0 && !bits.compareAndSet(w, old, old & ~mask));
    }
}
