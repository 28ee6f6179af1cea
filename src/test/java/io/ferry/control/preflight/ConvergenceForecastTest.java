package io.ferry.control.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.control.preflight.ConvergenceForecast.Prediction;
import io.ferry.control.preflight.ConvergenceForecast.Verdict;
import org.junit.jupiter.api.Test;

/** The forecast replays pre-copy's rounds; each case is worked out by hand. */
class ConvergenceForecastTest {

    private static final long MIB = 1L << 20;

    @Test
    void anIdleGuestGoesInOneRoundWithNoDowntimeToSpeakOf() {
        Prediction p = ConvergenceForecast.predict(1024 * MIB, 0, 0, 0, 128 * MIB, 300, false);
        assertThat(p.verdict()).isEqualTo(Verdict.CONVERGES);
        assertThat(p.rounds()).isEqualTo(1);
        assertThat(p.totalTimeMs()).isEqualTo(8000);
        assertThat(p.downtimeMs()).isZero();
    }

    @Test
    void aModeratelyBusyGuestConvergesInAFewShrinkingRounds() {
        // 1 GiB at 128 MiB/s, dirtying 16 MiB/s: 8 s, then 128 MiB (1 s), then 16 MiB (125 ms <= 300 ms)
        Prediction p = ConvergenceForecast.predict(1024 * MIB, 0, 0, 16 * MIB, 128 * MIB, 300, false);
        assertThat(p.verdict()).isEqualTo(Verdict.CONVERGES);
        assertThat(p.rounds()).isEqualTo(2);
        assertThat(p.totalTimeMs()).isEqualTo(8000 + 1000 + 125);
        assertThat(p.downtimeMs()).isEqualTo(125);
    }

    @Test
    void aGuestDirtyingFasterThanTheLinkNeedsPostcopyOrNeverConverges() {
        Prediction without = ConvergenceForecast.predict(256 * MIB, 0, 0, 200 * MIB, 100 * MIB, 300, false);
        assertThat(without.verdict()).isEqualTo(Verdict.WILL_NOT_CONVERGE);
        assertThat(without.totalTimeMs()).isEqualTo(-1);
        Prediction with = ConvergenceForecast.predict(256 * MIB, 0, 0, 200 * MIB, 100 * MIB, 300, true);
        assertThat(with.verdict()).isEqualTo(Verdict.NEEDS_POSTCOPY);
        assertThat(with.downtimeMs()).isZero();
        assertThat(with.totalTimeMs()).isGreaterThan(2560);
    }

    @Test
    void zeroPagesCostNothingInTheFirstRoundAndCopiedImagesCostTheirSize() {
        // 3/4 of 1 GiB is zero: the first round sends 256 MiB (2 s); an idle guest is done then
        Prediction p = ConvergenceForecast.predict(1024 * MIB, 0, 0.75, 0, 128 * MIB, 300, false);
        assertThat(p.totalTimeMs()).isEqualTo(2000);
        // plus a 512 MiB image with storage: copy: 6 s
        assertThat(ConvergenceForecast.predict(1024 * MIB, 512 * MIB, 0.75, 0, 128 * MIB, 300, false).totalTimeMs())
                .isEqualTo(6000);
    }

    @Test
    void theSwitchoversFixedCostAddsToDowntimeAndTotalButNotToAVerdict() {
        Prediction p = ConvergenceForecast.predict(1024 * MIB, 0, 0, 16 * MIB, 128 * MIB, 300, false, 40);
        assertThat(p.downtimeMs()).isEqualTo(125 + 40);
        assertThat(p.totalTimeMs()).isEqualTo(9125 + 40);
        assertThat(ConvergenceForecast.predict(256 * MIB, 0, 0, 200 * MIB, 100 * MIB, 300, false, 40).totalTimeMs())
                .isEqualTo(-1);
    }

    @Test
    void aLargerDowntimeLimitTurnsTheSameGuestIntoOneThatConverges() {
        assertThat(ConvergenceForecast.predict(512 * MIB, 0, 0, 120 * MIB, 100 * MIB, 300, false).verdict())
                .isEqualTo(Verdict.WILL_NOT_CONVERGE);
        assertThat(ConvergenceForecast.predict(512 * MIB, 0, 0, 120 * MIB, 100 * MIB, 10_000, false).verdict())
                .isEqualTo(Verdict.CONVERGES);
    }
}
