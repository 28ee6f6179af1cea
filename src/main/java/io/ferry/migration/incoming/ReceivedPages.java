package io.ferry.migration.incoming;

import io.ferry.guest.RamBlock;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which pages this incoming guest has been sent (QEMU's {@code receivedmap}). An incoming guest's
 * memory starts all zero, so a zero page for a page never received costs nothing: no read to
 * check it, no write. Only a page that arrived before (an older copy, now zero) is zeroed. Without
 * this, the destination read every zero page of a mostly empty guest and fell seconds behind the
 * source, and the pause waited for it.
 *
 * <p>Marked from several channels' threads at once: each word is updated atomically.
 */
final class ReceivedPages {

    private final AtomicLongArray[] bits;

    ReceivedPages(List<RamBlock> blocks) {
        bits = new AtomicLongArray[blocks.size()];
        for (int b = 0; b < bits.length; b++) {
            bits[b] = new AtomicLongArray((int) ((blocks.get(b).pageCount() + 63) >>> 6));
        }
    }

    /** Marks the page received; true if it had been before (its memory may hold an older copy). */
    boolean mark(int block, long page) {
        AtomicLongArray words = bits[block];
        int word = (int) (page >>> 6);
        long mask = 1L << page;
        while (true) {
            long old = words.get(word);
            if ((old & mask) != 0) {
                return true;
            }
            if (words.compareAndSet(word, old, old | mask)) {
                return false;
            }
        }
    }
}
