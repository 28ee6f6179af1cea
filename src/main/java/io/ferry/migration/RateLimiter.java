package io.ferry.migration;

/**
 * QEMU's migration rate limit: the byte budget of a 100 ms window is max-bandwidth / 10; once
 * it is spent the sender sleeps until the window ends. 0 means unlimited. The limit may change
 * at any time (PATCH); it applies from the next window.
 */
public final class RateLimiter {

    public static final long WINDOW_NANOS = 100_000_000L;

    private volatile long bytesPerSecond;
    private long windowStart = System.nanoTime();
    private long windowBytes;

    public RateLimiter(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    public void setLimit(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    public long limit() {
        return bytesPerSecond;
    }

    /** Counts bytes about to be sent; sleeps out the window when its budget is spent. */
    public void account(long bytes) throws InterruptedException {
        long now = System.nanoTime();
        if (now - windowStart >= WINDOW_NANOS) {
            windowStart = now;
            windowBytes = 0;
        }
        windowBytes += bytes;
        long limit = bytesPerSecond;
        if (limit > 0 && windowBytes >= limit / 10) {
            long sleepNanos = WINDOW_NANOS - (System.nanoTime() - windowStart);
            if (sleepNanos > 0) {
                Thread.sleep(sleepNanos / 1_000_000, (int) (sleepNanos % 1_000_000));
            }
            windowStart = System.nanoTime();
            windowBytes = 0;
        }
    }
}
