package io.ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateLimiterTest {

    /** Batches larger than a window's budget must still average the limit. */
    @Test
    void largeBatchesAverageTheLimit() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(4 << 20);       // 4 MiB/s
        long start = System.nanoTime();
        for (int i = 0; i < 3; i++) {
            limiter.account(1 << 20);                          // 1 MiB batches: 2.5 windows each
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        // 3 MiB at 4 MiB/s is 0.75 s, less one window of allowed burst
        assertThat(seconds).isGreaterThan(0.6);
    }

    @Test
    void zeroMeansUnlimited() throws InterruptedException {
        RateLimiter limiter = new RateLimiter(0);
        long start = System.nanoTime();
        limiter.account(1L << 30);
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(0.05);
    }
}
