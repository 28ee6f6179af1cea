package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.MIB;
import static io.ferry.guest.GuestFixtures.dirtyPages;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Both modes of the dirty-rate measurement against the synthetic workload, whose writes are
 * known: {@code R} writes a second, each to a page drawn uniformly from a hot set of {@code H}
 * pages. {@code N} writes within the window touch, on average, {@code E(N) = H(1 − (1 − 1/H)^N)}
 * distinct pages (saturating at {@code H} once {@code N ≫ H}); that is what both modes must
 * report as {@link DirtyRateSampler.Result#estimatedDirtyPages()}.
 *
 * <p>{@code N} comes from the workload's own write counter, never from the clock, so a loaded
 * machine (fewer writes than asked) changes the expectation, not the verdict. The counter is
 * bumped at the end of each 10 ms tick, so it is read just after the window opens and just
 * before it closes: the writes surely inside are {@code w2 − w1 − 2b}, and at most inside
 * {@code w3 − w0 + b}, where {@code b} is one tick's burst (the token bucket's cap) and
 * {@code w0}, {@code w3} are read before the first and after the last pass. {@code E} is
 * increasing in {@code N}, so the expectation lies in {@code [E(Nlo), E(Nhi)]}.
 *
 * <p>Around it, five standard deviations of two independent noises: which pages the writes hit
 * (the occupancy variance {@code H(H−1)(1−2/H)^N + H(1−1/H)^N − H²(1−1/H)^2N}) and, for
 * page-sampling, which pages were sampled ({@code D̂ = X·P/n} with {@code X} hypergeometric:
 * variance {@code (P/n)²·n·p(1−p)·(P−n)/(P−1)}, {@code p = D/P}). Five σ either way is a false
 * alarm about once in 1.7 million runs per check. One page more either way allows the write in
 * flight when the dirty log starts and stops.
 */
class DirtyRateAccuracyTest {

    private static final long RATE = 50_000;
    private static final long MEMORY = 128 * MIB;
    private static final Duration WINDOW = Duration.ofMillis(1000);

    @TempDir
    Path datastore;

    private SyntheticGuest guest;

    @AfterEach
    void closeGuest() {
        if (guest != null) {
            guest.close();
        }
    }

    /** One block, so the hot set is its first {@code H} pages and sampling is one uniform draw. */
    private SyntheticGuest guest(double hotSetFraction, long seed) throws IOException {
        guest = SyntheticGuest.create(new GuestSpec("measured", List.of(new RamBlockSpec("pc.ram", MEMORY)),
                List.of(), 4096, new WorkloadSpec(RATE, hotSetFraction, 0, seed)), datastore);
        return guest;
    }

    private static long burst() {
        return (long) Math.max(1, RATE * 2 * Workload.TICK_NANOS / 1e9) + 1;
    }

    /** What a measurement observed: the result and the write counter around and inside its window. */
    private record Observed(DirtyRateSampler.Result result, long w0, long w1, long w2, long w3) {
    }

    private Observed observe(SyntheticGuest g, String mode, int samplePagesPerGiB) throws InterruptedException {
        long w0 = g.memoryWrites();
        Function<Void, DirtyRateSampler.Result> finish;
        if (mode.equals("page-sampling")) {
            DirtyRateSampler.Baseline baseline = DirtyRateSampler.begin(g, samplePagesPerGiB, 21);
            finish = v -> baseline.finish();
        } else {
            DirtyRateSampler.DirtyLog log = DirtyRateSampler.beginDirtyLog(g, samplePagesPerGiB, 21);
            finish = v -> log.finish();
        }
        long w1 = g.memoryWrites();
        Thread.sleep(WINDOW.toMillis());
        long w2 = g.memoryWrites();
        DirtyRateSampler.Result result = finish.apply(null);
        long w3 = g.memoryWrites();
        return new Observed(result, w0, w1, w2, w3);
    }

    /** Expected distinct pages after {@code n} uniform writes into {@code h} pages. */
    static double distinct(long h, long n) {
        return h * -Math.expm1(n * Math.log1p(-1.0 / h));
    }

    /** The variance of the number of distinct pages after {@code n} uniform writes into {@code h} pages. */
    static double occupancyVariance(long h, long n) {
        double miss = Math.exp(n * Math.log1p(-1.0 / h));
        double missTwo = h < 2 ? 0 : Math.exp(n * Math.log1p(-2.0 / h));
        return Math.max(0, h * (h - 1) * missTwo + h * miss - (double) h * h * miss * miss);
    }

    /** The variance of {@code X·P/n} for {@code X} hypergeometric: {@code n} of {@code P} pages drawn, {@code d} dirty. */
    static double samplingVariance(long pages, long n, double d) {
        double p = Math.max(0, Math.min(1, d / pages));
        double scale = (double) pages / n;
        return scale * scale * n * p * (1 - p) * (pages - n) / (pages - 1.0);
    }

    /**
     * A hot set of 2% (656 pages) under about 50,000 writes: saturated (e^-76 of it missed).
     * A hot set of all memory (32,768 pages) under the same: about 78% of it distinct, far from
     * saturated, so a mode that counted writes, or the hot set, would be caught either way.
     * Page-sampling hashes half the pages (σ ≈ 2.4% of the small set, 0.3% of the large).
     */
    @ParameterizedTest(name = "{0}, hot set {1}")
    @CsvSource({
            "page-sampling, 0.02",
            "page-sampling, 1.0",
            "dirty-bitmap, 0.02",
            "dirty-bitmap, 1.0"})
    void theMeasuredDistinctPagesMatchTheWorkloadsWritesAndHotSet(String mode, double hotSetFraction)
            throws Exception {
        SyntheticGuest g = guest(hotSetFraction, 31);
        long pages = g.memory().totalPages();
        long hot = (long) Math.ceil(hotSetFraction * pages);
        long sampled = pages / 2;
        int samplePagesPerGiB = (int) (sampled * (1L << 30) / MEMORY);
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 100);

        Observed o = observe(g, mode, samplePagesPerGiB);
        DirtyRateSampler.Result result = o.result();

        long fewestWrites = Math.max(0, o.w2() - o.w1() - 2 * burst());
        long mostWrites = o.w3() - o.w0() + burst();
        double low = distinct(hot, fewestWrites);
        double high = distinct(hot, mostWrites);
        double variance = Math.max(occupancyVariance(hot, fewestWrites), occupancyVariance(hot, mostWrites));
        if (mode.equals("page-sampling")) {
            variance += Math.max(samplingVariance(pages, result.sampledPages(), low),
                    samplingVariance(pages, result.sampledPages(), high));
        }
        double sigma = Math.sqrt(variance);
        String observed = String.format("%s: writes %d..%d → expected %.1f..%.1f distinct of %d hot, σ %.1f;"
                + " measured %.1f (%s)", mode, fewestWrites, mostWrites, low, high, hot, sigma,
                result.estimatedDirtyPages(), result);
        System.out.println(observed);

        assertThat(result.totalPages()).isEqualTo(pages);
        assertThat(result.sampledPages()).isEqualTo(sampled);
        assertThat(result.estimatedDirtyPages()).as(observed)
                .isBetween(low - 5 * sigma - 1, high + 5 * sigma + 1);
        assertThat(result.dirtyPagesPerSecond())
                .isEqualTo(result.estimatedDirtyPages() / (result.windowNanos() / 1e9));
        if (mode.equals("dirty-bitmap")) {
            // an exact count: never a page outside the hot set
            assertThat(result.estimatedDirtyPages()).as(observed).isLessThanOrEqualTo(hot);
        }
    }

    @Test
    void theExpectationSaturatesAtTheHotSetAndIsTheWriteCountForFewWrites() {
        assertThat(distinct(655, 50_000)).isCloseTo(655, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(distinct(32_768, 1)).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(distinct(32_768, 50_000)).isBetween(0.78 * 32_768, 0.79 * 32_768);
        assertThat(occupancyVariance(655, 50_000)).isLessThan(1e-20);
        // the exact occupancy variance of 2 writes into 2 pages: 1 or 2 distinct, each with probability 1/2
        assertThat(occupancyVariance(2, 2)).isCloseTo(0.25, org.assertj.core.data.Offset.offset(1e-12));
        // sampling every page leaves no sampling noise
        assertThat(samplingVariance(1000, 1000, 300)).isZero();
    }

    @Test
    void aDirtyLogMeasurementLeavesTheMigrationsDirtyLogWholeAndRunsOneAtATime() throws Exception {
        SyntheticGuest g = guest(0.5, 32);
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 100);
        DirtyRateSampler.DirtyLog log = DirtyRateSampler.beginDirtyLog(g, 512, 1);
        assertThatIllegalStateException().isThrownBy(() -> DirtyRateSampler.beginDirtyLog(g, 512, 2))
                .withMessageContaining("already being measured");
        Thread.sleep(200);
        DirtyRateSampler.Result result = log.finish();
        // every page the measurement counted is still dirty for the migration (no sync in between)
        assertThat(result.estimatedDirtyPages()).isPositive();
        assertThat((double) dirtyPages(g)).isGreaterThanOrEqualTo(result.estimatedDirtyPages());
        log.finish();   // a second stop is harmless, and the next measurement may start
        DirtyRateSampler.measureDirtyLog(g, Duration.ofMillis(100), 512, 3);
    }

    @Test
    void aPausedGuestMeasuresZeroInTheDirtyLog() throws Exception {
        SyntheticGuest g = guest(1.0, 33);
        await().atMost(Duration.ofSeconds(5)).until(() -> g.memoryWrites() > 100);
        g.pause();
        DirtyRateSampler.Result result = DirtyRateSampler.measureDirtyLog(g, Duration.ofMillis(150), 512, 4);
        assertThat(result.estimatedDirtyPages()).isZero();
        assertThat(result.dirtyPagesPerSecond()).isZero();
        assertThat(result.windowNanos()).isGreaterThanOrEqualTo(Duration.ofMillis(150).toNanos());
    }
}
