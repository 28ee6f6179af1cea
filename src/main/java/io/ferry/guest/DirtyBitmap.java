package io.ferry.guest;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * A dirty log: one bit per page (or disk block), set by writers, taken and cleared by the
 * migration engine once per iteration, like KVM's {@code KVM_GET_DIRTY_LOG}.
 *
 * <p>The protocol that makes it lossless: a writer changes the data first and marks second; the
 * reader takes the bits first and reads the data second. {@link #mark} is an atomic OR (a full
 * barrier) and {@link #syncAndClear} an atomic swap per word, so a write racing with a sync is
 * either seen by the reader's later read of the data, or leaves its bit set for the next round.
 * The mark is unconditional on purpose: skipping it when the bit already looks set would let the
 * check pass before the data store is visible, and lose exactly that write.
 */
public final class DirtyBitmap {

    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long bitCount;
    private final long[] words;

    public DirtyBitmap(long bitCount) {
        if (bitCount <= 0 || bitCount > (long) Integer.MAX_VALUE * Long.SIZE) {
            throw new IllegalArgumentException("bitCount must be 1.." + (long) Integer.MAX_VALUE * Long.SIZE
                    + ", was " + bitCount);
        }
        this.bitCount = bitCount;
        this.words = new long[wordCount(bitCount)];
    }

    /** Words needed to hold {@code bitCount} bits; the size of the array {@link #syncAndClear} fills. */
    public static int wordCount(long bitCount) {
        return (int) ((bitCount + Long.SIZE - 1) >>> 6);
    }

    /** Pages (or blocks) this bitmap covers. */
    public long bitCount() {
        return bitCount;
    }

    public int wordCount() {
        return words.length;
    }

    /** Records that {@code page} changed. Thread-safe, lock-free. */
    public void mark(long page) {
        Objects.checkIndex(page, bitCount);
        WORDS.getAndBitwiseOr(words, (int) (page >>> 6), 1L << page);
    }

    /** Marks every page, as at the start of a migration when all of memory must be sent once. */
    public void markAll() {
        for (int i = 0; i < words.length; i++) {
            WORDS.getAndBitwiseOr(words, i, validBits(i));
        }
    }

    public boolean isDirty(long page) {
        Objects.checkIndex(page, bitCount);
        return ((long) WORDS.getVolatile(words, (int) (page >>> 6)) & (1L << page)) != 0;
    }

    /** Dirty pages right now; a moving figure while writers run. */
    public long count() {
        long count = 0;
        for (int i = 0; i < words.length; i++) {
            count += Long.bitCount((long) WORDS.getVolatile(words, i));
        }
        return count;
    }

    /**
     * Takes the dirty set and clears it: word {@code i} of the log is swapped with zero and stored
     * in {@code into[i]} (bit {@code p & 63} of word {@code p >>> 6} stands for page {@code p}).
     * Each word is taken atomically, so no mark is lost or counted twice; the snapshot as a whole is
     * not a single instant, which the dirty-log protocol does not need.
     *
     * @param into at least {@link #wordCount()} words; its previous content is overwritten
     * @return the number of dirty pages taken
     */
    public long syncAndClear(long[] into) {
        if (into.length < words.length) {
            throw new IllegalArgumentException("into needs " + words.length + " words, has " + into.length);
        }
        long count = 0;
        for (int i = 0; i < words.length; i++) {
            // Read before swapping: most words of a large, quiet guest are zero and need no atomic swap.
            long taken = (long) WORDS.getVolatile(words, i) == 0 ? 0 : (long) WORDS.getAndSet(words, i, 0L);
            into[i] = taken;
            count += Long.bitCount(taken);
        }
        return count;
    }

    /** Whether {@code bit} is set in a snapshot taken with {@link #syncAndClear}. */
    public static boolean isSet(long[] snapshot, long bit) {
        return (snapshot[(int) (bit >>> 6)] & (1L << bit)) != 0;
    }

    /**
     * The first page at or after {@code from} whose bit is set in a snapshot taken by
     * {@link #syncAndClear}, or -1 if none.
     */
    public static long nextSetBit(long[] snapshot, long from) {
        if (from < 0) {
            throw new IndexOutOfBoundsException("from < 0: " + from);
        }
        int i = (int) (from >>> 6);
        if (i >= snapshot.length) {
            return -1;
        }
        long word = snapshot[i] & (-1L << from);
        while (true) {
            if (word != 0) {
                return ((long) i << 6) + Long.numberOfTrailingZeros(word);
            }
            if (++i == snapshot.length) {
                return -1;
            }
            word = snapshot[i];
        }
    }

    private long validBits(int wordIndex) {
        long bitsInWord = Math.min(Long.SIZE, bitCount - ((long) wordIndex << 6));
        return bitsInWord == Long.SIZE ? -1L : (1L << bitsInWord) - 1;
    }

    @Override
    public String toString() {
        return "DirtyBitmap[" + count() + "/" + bitCount + " dirty]";
    }
}
