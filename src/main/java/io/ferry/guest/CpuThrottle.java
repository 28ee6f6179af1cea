package io.ferry.guest;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * QEMU's {@code cpu_throttle} for the synthetic vCPU: at {@code p} %, after each timeslice it ran,
 * the vCPU sleeps {@code p / (100 - p)} of a timeslice, so it runs {@code (100 - p)} % of the time
 * and does that share of its writes. The sleep is real (the workload thread parks), and the
 * workload does not count the slept time as time it could have written in.
 *
 * <p>Set from any thread; a change (removal above all) wakes a vCPU asleep for the old share at
 * once. Slept by the workload thread only.
 */
final class CpuThrottle {

    static final int MAX_PERCENT = 99;

    private volatile int percent;
    /** The workload thread while it sleeps off its share, so a change can wake it; null otherwise. */
    private volatile Thread sleeper;

    /** 0 removes the throttle. */
    void set(int percent) {
        if (percent < 0 || percent > MAX_PERCENT) {
            throw new IllegalArgumentException("a CPU throttle is 0.." + MAX_PERCENT + " %, was " + percent);
        }
        this.percent = percent;
        Thread asleep = sleeper;
        if (asleep != null) {
            LockSupport.unpark(asleep);
        }
    }

    int percent() {
        return percent;
    }

    /**
     * After a timeslice of {@code ranNanos}, sleeps the throttled share of it: {@code ranNanos × p /
     * (100 - p)} at the throttle in force while sleeping (a lower or removed throttle shortens the
     * sleep at once). Ends early when {@code stop} says so (a pause or close of the workload).
     * Returns the nanoseconds slept, which the caller does not count as time run.
     */
    long sleepOffShare(long ranNanos, BooleanSupplier stop) {
        if (percent == 0) {
            return 0;
        }
        long start = System.nanoTime();
        sleeper = Thread.currentThread();
        try {
            while (true) {
                // read after publishing the sleeper: a set() that misses it was written before this read
                int p = percent;
                long left = start + ranNanos * p / (100 - p) - System.nanoTime();
                if (left <= 0 || stop.getAsBoolean()) {
                    break;
                }
                LockSupport.parkNanos(this, left);
            }
        } finally {
            sleeper = null;
        }
        return System.nanoTime() - start;
    }
}
