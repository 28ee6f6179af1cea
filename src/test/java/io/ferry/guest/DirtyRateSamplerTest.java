package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.MIB;
import static io.ferry.guest.GuestFixtures.dirtyPages;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sampler against the synthetic workload, whose writes are known. Bounds come from the
 * workload's own write counter read around each pass, never from how fast the machine is: a
 * loaded machine writes fewer pages, and the counter says so.
 *
 * <p>The counter is bumped at the end of each 10 ms tick, so a tick in flight while it is read
 * may land on either side of a pass: every bound allows one tick's burst (the token bucket's
 * cap, {@code max(1, rate × 20 ms)} writes) at each end.
 */
class DirtyRateSamplerTest {

    @TempDir
    Path datastore;

    private SyntheticGuest guest;

    @AfterEach
    void closeGuest() {
        if (guest != null) {
            guest.close();
        }
    }

    private SyntheticGuest guest(long memory, WorkloadSpec workload) throws IOException {
        guest = SyntheticGuest.create(new GuestSpec("sampled",
                List.of(new RamBlockSpec("pc.ram", memory - 4 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(), 4096, workload), datastore);
        return guest;
    }

    private static long burst(double rate) {
        return (long) Math.max(1, rate * 2 * Workload.TICK_NANOS / 1e9) + 1;
    }

    /**
     * Hot set 1.0 and w ≈ 2000 writes spread over N = 65536 pages: w uniform writes touch
     * N(1 − (1 − 1/N)^w) ≥ w − w²/(2N) ≈ w − 31 distinct pages; below w − w²/N only with negligible
     * probability (the repeat count is about Poisson(31)). Sampling n = N/4 pages without
     * replacement, the estimate D̂ = changed × N/n has variance at most N·D/n, so σ ≤ √(4·D) ≈ 90
     * pages; five σ either way is a false alarm about once in 3·10⁶ runs.
     */
    @Test
    void aGuestWritingAllOverItsMemoryMeasuresItsWriteRate() throws Exception {
        long rate = 2000;
        SyntheticGuest g = guest(256 * MIB, new WorkloadSpec(rate, 1.0, 0, 7));
        long n = g.memory().totalPages() / 4;
        int samplesPerGiB = (int) (n * (1L << 30) / g.memory().totalBytes());
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 100);

        long w0 = g.memoryWrites();
        DirtyRateSampler.Baseline baseline = DirtyRateSampler.begin(g, samplesPerGiB, 11);
        long w1 = g.memoryWrites();
        Thread.sleep(1000);
        long w2 = g.memoryWrites();
        DirtyRateSampler.Result result = baseline.finish();
        long w3 = g.memoryWrites();

        long pages = g.memory().totalPages();
        long surelyInside = Math.max(0, w2 - w1 - 2 * burst(rate));   // written between the passes
        long atMostInside = w3 - w0 + burst(rate);                    // written at any time around them
        double fewestDistinct = surelyInside - (double) surelyInside * surelyInside / pages;
        double sigma = Math.sqrt((double) pages * atMostInside / result.sampledPages());
        assertThat(result.sampledPages()).isBetween(n - 2, n + 2);
        assertThat(result.totalPages()).isEqualTo(pages);
        assertThat(result.estimatedDirtyPages()).as("writes %d..%d, %s", surelyInside, atMostInside, result)
                .isBetween(fewestDistinct - 5 * sigma, atMostInside + 5 * sigma);
        // the token bucket never writes faster than the rate plus one burst, however the window fell
        double seconds = result.windowNanos() / 1e9;
        assertThat(result.dirtyPagesPerSecond()).isLessThanOrEqualTo(rate + (burst(rate) + 5 * sigma) / seconds);
        assertThat(result.dirtyBytesPerSecond()).isEqualTo(result.dirtyPagesPerSecond() * RamBlock.PAGE_SIZE);
    }

    /**
     * Writes ten times the hot set's size in the window: nearly every hot page changes, none
     * outside it. With every page sampled the count is exact, so it can never pass the hot set;
     * its floor is the expected occupancy H(1 − (1 − 1/H)^w) of the writes surely inside, less 10%.
     */
    @Test
    void aSmallHotSetCapsTheRateAtTheHotSetPerWindow() throws Exception {
        long rate = 20_000;
        SyntheticGuest g = guest(64 * MIB, new WorkloadSpec(rate, 0.02, 0, 8));
        long hotPages = (long) Math.ceil(0.02 * g.memory().totalPages());
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 100);

        DirtyRateSampler.Baseline baseline = DirtyRateSampler.begin(g, DirtyRateSampler.MAX_SAMPLE_PAGES_PER_GIB, 12);
        long w1 = g.memoryWrites();
        Thread.sleep(500);
        long w2 = g.memoryWrites();
        DirtyRateSampler.Result result = baseline.finish();

        assertThat(result.sampledPages()).isEqualTo(g.memory().totalPages());
        assertThat(result.changedPages()).isLessThanOrEqualTo(hotPages);
        assertThat(result.dirtyPagesPerSecond()).isLessThanOrEqualTo(hotPages / (result.windowNanos() / 1e9));
        long surelyInside = Math.max(0, w2 - w1 - 2 * burst(rate));
        double expected = hotPages * (1 - Math.pow(1 - 1.0 / hotPages, surelyInside));
        assertThat((double) result.changedPages()).as("%d writes surely inside", surelyInside)
                .isGreaterThanOrEqualTo(0.9 * expected);
        // what the guest wrote is far more than what pre-copy would resend
        assertThat(w2 - w1).isGreaterThan(2 * hotPages);
    }

    @Test
    void aPausedGuestMeasuresZeroAndItsDirtyLogIsLeftAlone() throws Exception {
        SyntheticGuest g = guest(32 * MIB, new WorkloadSpec(5000, 0.5, 0, 9));
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 200);
        g.pause();
        long dirty = dirtyPages(g);
        assertThat(dirty).isPositive();

        DirtyRateSampler.Result result = DirtyRateSampler.measure(g, Duration.ofMillis(200),
                DirtyRateSampler.MAX_SAMPLE_PAGES_PER_GIB, 13);

        assertThat(result.changedPages()).isZero();
        assertThat(result.dirtyPagesPerSecond()).isZero();
        assertThat(result.windowNanos()).isGreaterThanOrEqualTo(Duration.ofMillis(200).toNanos());
        assertThat(dirtyPages(g)).isEqualTo(dirty);
    }

    @Test
    void aRunningGuestsDirtyLogKeepsEveryMarkAcrossAMeasurement() throws Exception {
        SyntheticGuest g = guest(32 * MIB, new WorkloadSpec(5000, 1.0, 0, 10));
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 200);
        long before = dirtyPages(g);

        DirtyRateSampler.measure(g, Duration.ofMillis(100), DirtyRateSampler.DEFAULT_SAMPLE_PAGES_PER_GIB, 14);

        assertThat(dirtyPages(g)).isGreaterThanOrEqualTo(before);   // marks only accumulate: nothing cleared them
    }

    @Test
    void everyBlockIsSampledInProportionAndAtLeastOnce() throws Exception {
        SyntheticGuest g = guest(64 * MIB, WorkloadSpec.idle());
        // 512 per GiB: 30 pages of the 60 MiB pc.ram, 2 of the 4 MiB vga.vram
        DirtyRateSampler.Result result = DirtyRateSampler.begin(g, 512, 1).finish();
        assertThat(result.sampledPages()).isEqualTo(30 + 2);
        assertThat(DirtyRateSampler.begin(g, 1, 1).finish().sampledPages()).isEqualTo(2);
    }

    @Test
    void choosesDistinctPagesInOrder() {
        for (int n : new int[] {1, 10, 1000, 4000, 16_384}) {
            long[] pages = DirtyRateSampler.choose(16_384, n, new SplittableRandom(n));
            assertThat(pages).hasSize(n);
            assertThat(Arrays.stream(pages).distinct().count()).isEqualTo(n);
            assertThat(pages).isSorted();
            assertThat(pages[0]).isGreaterThanOrEqualTo(0);
            assertThat(pages[n - 1]).isLessThan(16_384);
        }
    }

    @Test
    void refusesSampleCountsOutsideOneToAWholeGiB() throws Exception {
        SyntheticGuest g = guest(16 * MIB, WorkloadSpec.idle());
        assertThatIllegalArgumentException().isThrownBy(() -> DirtyRateSampler.begin(g, 0, 1));
        assertThatIllegalArgumentException().isThrownBy(
                () -> DirtyRateSampler.begin(g, DirtyRateSampler.MAX_SAMPLE_PAGES_PER_GIB + 1, 1));
    }

    @Test
    void aGuestClosedDuringTheWindowEndsTheMeasurement() throws Exception {
        SyntheticGuest g = guest(16 * MIB, WorkloadSpec.idle());
        DirtyRateSampler.Baseline baseline = DirtyRateSampler.begin(g, 512, 1);
        g.close();
        assertThatIllegalStateException().isThrownBy(baseline::finish);
    }
}
