package io.ferry.migration.outgoing;

import io.ferry.migration.RateLimiter;

/**
 * QEMU's bandwidth measure: bytes handed to the socket over 100 ms windows. The last closed
 * window's bytes/ms is what the switchover rule compares the pending bytes against; its pages
 * per second is a progress figure. Written by the migration thread only.
 */
final class BandwidthWindow {

    private long start = System.nanoTime();
    private long bytes;
    private long pagesAtStart;
    private double bytesPerMs;
    private long pagesPerSecond;

    /** Counts {@code sent} bytes; {@code pagesSoFar} is the migration's page count now. Closes a window when it is over. */
    void add(long sent, long pagesSoFar) {
        bytes += sent;
        long now = System.nanoTime();
        long elapsed = now - start;
        if (elapsed >= RateLimiter.WINDOW_NANOS) {
            bytesPerMs = bytes / (elapsed / 1e6);
            pagesPerSecond = (long) ((pagesSoFar - pagesAtStart) / (elapsed / 1e9));
            start = now;
            bytes = 0;
            pagesAtStart = pagesSoFar;
        }
    }

    /**
     * A round that ended before any window closed (a small or idle guest): the round is the only
     * measure, so it stands in until a window closes.
     */
    void seedFromRound(long roundBytes, long roundNanos, long roundPages) {
        if (bytesPerMs == 0) {
            bytesPerMs = roundBytes / Math.max(roundNanos / 1e6, 0.001);
            pagesPerSecond = (long) (roundPages / Math.max(roundNanos / 1e9, 1e-6));
        }
    }

    double bytesPerMs() {
        return bytesPerMs;
    }

    long pagesPerSecond() {
        return pagesPerSecond;
    }
}
