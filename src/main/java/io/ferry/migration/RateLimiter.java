package io.ferry.migration;

/**
 * QEMU's migration rate limit: a byte budget per 100 ms window, max-bandwidth / 10. Bytes
 * beyond the budget are a debt paid by sleeping, so a sender that hands over large batches
 * still averages the limit (at most one window of burst). 0 means unlimited. The limit may
 * change at any time (PATCH); it applies from the next batch.
 */
public final class RateLimiter {

    public static final long WINDOW_NANOS = 100_000_000L;

    private volatile long bytesPerSecond;
    /** When the bytes accounted so far are paid for at the current rate. */
    private long paidUntil = System.nanoTime();

    public RateLimiter(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    public void setLimit(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    public long limit() {
        return bytesPerSecond;
    }

    /**
     * How long a sender must wait before its next batch is within the limit (0: now). For a
     * sender that has other work to do meanwhile, with {@link #charge} instead of sleeping.
     */
    public long nanosUntilAllowed() {
        return bytesPerSecond <= 0 ? 0 : Math.max(0, paidUntil - System.nanoTime() - WINDOW_NANOS);
    }

    /** Counts bytes about to be sent without waiting; the debt shows in {@link #nanosUntilAllowed}. */
    public void charge(long bytes) {
        long limit = bytesPerSecond;
        long now = System.nanoTime();
        paidUntil = limit <= 0 ? now : Math.max(paidUntil, now) + (long) (bytes * 1e9 / limit);
    }

    /** Counts bytes about to be sent; sleeps while more than one window's worth is unpaid. */
    public void account(long bytes) throws InterruptedException {
        charge(bytes);
        long ahead = nanosUntilAllowed();
        if (ahead > 0) {
            Thread.sleep(ahead / 1_000_000, (int) (ahead % 1_000_000));
        }
    }
}
