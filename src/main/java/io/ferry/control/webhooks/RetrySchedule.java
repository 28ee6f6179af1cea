package io.ferry.control.webhooks;

import java.time.Duration;

/**
 * How long a failed delivery waits before its next attempt: {@code initial} after the first
 * failure, doubling after each further one, never more than {@code max} (1 s, 2 s, 4 s … 60 s
 * by default). No jitter: rows are retried one key at a time, so failures of one receiver do
 * not arrive as a herd.
 */
public record RetrySchedule(Duration initial, Duration max) {

    public RetrySchedule {
        if (initial.toMillis() < 1) {
            throw new IllegalArgumentException("the first retry delay must be at least 1 ms, not " + initial);
        }
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("the longest retry delay " + max + " is shorter than the first " + initial);
        }
    }

    /** The wait after the {@code failures}-th consecutive failed attempt of one delivery (1 = the first). */
    public Duration delayAfter(int failures) {
        if (failures < 1) {
            throw new IllegalArgumentException("failures start at 1, not " + failures);
        }
        int doublings = Math.min(failures - 1, 62);
        long maxMillis = max.toMillis();
        long initialMillis = initial.toMillis();
        // initial × 2^doublings exceeds max exactly when initial exceeds max / 2^doublings (rounded
        // down); asking this way never overflows
        if (initialMillis > (maxMillis >> doublings)) {
            return max;
        }
        return Duration.ofMillis(initialMillis << doublings);
    }
}
