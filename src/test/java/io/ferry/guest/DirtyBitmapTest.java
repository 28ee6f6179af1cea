package io.ferry.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class DirtyBitmapTest {

    @Test
    void markedPagesAreTakenOnceBySyncAndClear() {
        DirtyBitmap bitmap = new DirtyBitmap(200);
        bitmap.mark(0);
        bitmap.mark(63);
        bitmap.mark(64);
        bitmap.mark(199);
        bitmap.mark(64);

        long[] snapshot = new long[bitmap.wordCount()];
        assertThat(bitmap.count()).isEqualTo(4);
        assertThat(bitmap.syncAndClear(snapshot)).isEqualTo(4);

        assertThat(setBits(snapshot)).containsExactly(0L, 63L, 64L, 199L);
        assertThat(bitmap.count()).isZero();
        assertThat(bitmap.syncAndClear(snapshot)).isZero();
        assertThat(setBits(snapshot)).isEmpty();
    }

    @Test
    void markAllSetsExactlyEveryPage() {
        DirtyBitmap bitmap = new DirtyBitmap(130);
        bitmap.markAll();

        long[] snapshot = new long[bitmap.wordCount()];
        assertThat(bitmap.syncAndClear(snapshot)).isEqualTo(130);
        assertThat(snapshot[2]).isEqualTo(0b11L);
        assertThat(bitmap.isDirty(129)).isFalse();
    }

    @Test
    void pageOutsideTheBitmapIsRejected() {
        DirtyBitmap bitmap = new DirtyBitmap(64);
        assertThatThrownBy(() -> bitmap.mark(64)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> bitmap.mark(-1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> bitmap.syncAndClear(new long[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentMarksRacingWithSyncsAreNeitherLostNorDoubled() throws InterruptedException {
        int pages = 1 << 16;
        int writers = 4;
        DirtyBitmap bitmap = new DirtyBitmap(pages);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int first = w;
            threads.add(new Thread(() -> {
                for (int page = first; page < pages; page += writers) {
                    bitmap.mark(page);
                }
            }));
        }
        BitSet seen = new BitSet(pages);
        long[] snapshot = new long[bitmap.wordCount()];
        long taken = 0;
        AtomicBoolean doubled = new AtomicBoolean();
        threads.forEach(Thread::start);
        while (threads.stream().anyMatch(Thread::isAlive)) {
            taken += collect(bitmap, snapshot, seen, doubled);
        }
        for (Thread t : threads) {
            t.join();
        }
        taken += collect(bitmap, snapshot, seen, doubled);

        assertThat(doubled).isFalse();
        assertThat(taken).isEqualTo(pages);
        assertThat(seen.cardinality()).isEqualTo(pages);
    }

    @Test
    void nextSetBitWalksASnapshot() {
        long[] snapshot = {1L << 5, 0, 1L << 63};
        assertThat(DirtyBitmap.nextSetBit(snapshot, 0)).isEqualTo(5);
        assertThat(DirtyBitmap.nextSetBit(snapshot, 6)).isEqualTo(191);
        assertThat(DirtyBitmap.nextSetBit(snapshot, 192)).isEqualTo(-1);
    }

    private static long collect(DirtyBitmap bitmap, long[] snapshot, BitSet seen, AtomicBoolean doubled) {
        long count = bitmap.syncAndClear(snapshot);
        for (long page : setBits(snapshot)) {
            if (seen.get((int) page)) {
                doubled.set(true);
            }
            seen.set((int) page);
        }
        return count;
    }

    private static List<Long> setBits(long[] snapshot) {
        List<Long> pages = new ArrayList<>();
        for (long p = DirtyBitmap.nextSetBit(snapshot, 0); p >= 0; p = DirtyBitmap.nextSetBit(snapshot, p + 1)) {
            pages.add(p);
        }
        return pages;
    }
}
