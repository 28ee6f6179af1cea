package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import io.ferry.channel.ConvergenceSettings.AutoConverge;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** QEMU's auto-converge rule: when it fires (periods of dirtied against sent) and how far it raises the throttle. */
class ThrottleRuleTest {

    private static final long MB = 1_000_000;
    private static final long SECOND = 1_000_000_000L;

    @ParameterizedTest(name = "{0} % → {7} % ({8})")
    @CsvSource({
            // now, initial, increment, max, tailSlow, dirtied, threshold, next, why
            "0,  20, 10, 99, false, 1000, 100, 20, not throttled yet: the initial throttle",
            "0,  50, 10, 99, true,  1000, 999, 50, tail-slow starts at the initial throttle too",
            "20, 20, 10, 99, false, 1000, 100, 30, then one increment",
            "80, 20, 10, 99, false, 1000, 100, 90, another",
            "90, 20, 10, 99, false, 1000, 100, 99, capped at the maximum",
            "99, 20, 10, 99, false, 1000, 100, 99, and stays there",
            "60, 20, 30, 70, false, 1000, 100, 70, a custom maximum",
            "20, 20, 10, 99, true,  1000, 100, 30, tail-slow far from the threshold: cpu 80 → ideal 8, the full increment",
            "50, 20, 10, 99, true,  1000, 900, 55, tail-slow near it: cpu 50 → ideal ⌊45⌋, 5 more",
            "50, 20, 10, 99, true,  1000, 990, 51, tail-slow nearer: cpu 50 → ideal ⌊49.5⌋ = 49, 1 more",
            "95, 20, 10, 97, true,  2000, 1000, 97, tail-slow under the maximum too: cpu 5 → ideal 2, capped",
    })
    void raisesAsQemusMigThrottleGuestDown(int now, int initial, int increment, int max, boolean tailSlow,
                                             long dirtied, long threshold, int next, String why) {
        AutoConverge parameters = new AutoConverge(true, initial, increment, max, tailSlow);
        assertThat(ThrottleRule.raise(now, parameters, dirtied, threshold)).as(why).isEqualTo(next);
    }

    @Test
    void theDefaultsGoTwentyThirtyAndSoOnToNinetyNine() {
        int percent = 0;
        StringBuilder steps = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            percent = ThrottleRule.raise(percent, AutoConverge.ON, 10 * MB, MB);
            steps.append(percent).append(' ');
        }
        assertThat(steps.toString().trim()).isEqualTo("20 30 40 50 60 70 80 90 99 99");
    }

    @Test
    void theSecondHighPeriodFiresAndTheCountStartsOver() {
        ThrottleRule rule = new ThrottleRule();
        rule.bulkRoundSynced(0, 100 * MB);

        // each period: 10 MB sent, 8 MB dirtied, more than half of it
        assertThat(rule.roundSynced(2 * SECOND, 8 * MB, 110 * MB)).as("first high period").isNull();
        ThrottleRule.Fired fired = rule.roundSynced(4 * SECOND, 8 * MB, 120 * MB);
        assertThat(fired).isEqualTo(new ThrottleRule.Fired(8 * MB, 10 * MB, 5 * MB, 2000));
        assertThat(rule.roundSynced(6 * SECOND, 8 * MB, 130 * MB)).as("the count started over").isNull();
        assertThat(rule.roundSynced(8 * SECOND, 8 * MB, 140 * MB)).isNotNull();
    }

    @Test
    void theBulkRoundIsNotJudged() {
        ThrottleRule rule = new ThrottleRule();
        // the bulk round sent 100 MB: had its period been judged with the next, 16 MB dirtied would be far under half
        rule.bulkRoundSynced(0, 100 * MB);
        assertThat(rule.roundSynced(2 * SECOND, 8 * MB, 110 * MB)).isNull();
        assertThat(rule.roundSynced(4 * SECOND, 8 * MB, 120 * MB)).as("judged from the bulk round's sync on")
                .isNotNull();

        assertThatIllegalStateException().isThrownBy(() -> new ThrottleRule().roundSynced(SECOND, MB, MB));
    }

    @Test
    void aLowPeriodNeitherCountsNorResetsTheCount() {
        ThrottleRule rule = new ThrottleRule();
        rule.bulkRoundSynced(0, 0);
        assertThat(rule.roundSynced(2 * SECOND, 8 * MB, 10 * MB)).as("high: 1").isNull();
        assertThat(rule.roundSynced(4 * SECOND, 2 * MB, 20 * MB)).as("low: 2 MB of 10 MB sent").isNull();
        // QEMU's ++dirty_rate_high_cnt >= 2: the high periods need not follow each other
        assertThat(rule.roundSynced(6 * SECOND, 8 * MB, 30 * MB)).as("high: 2").isNotNull();
    }

    @Test
    void exactlyHalfIsNotHigh() {
        ThrottleRule rule = new ThrottleRule();
        rule.bulkRoundSynced(0, 0);
        for (int period = 1; period <= 4; period++) {
            assertThat(rule.roundSynced(period * 2 * SECOND, 5 * MB, period * 10 * MB)).isNull();
        }
    }

    @Test
    void syncsWithinASecondAddUpIntoOnePeriod() {
        ThrottleRule rule = new ThrottleRule();
        rule.bulkRoundSynced(0, 0);
        // three short rounds: 2 MB dirtied each, 10 MB sent in all; one second exactly is not over yet
        assertThat(rule.roundSynced(SECOND / 2, 2 * MB, 4 * MB)).isNull();
        assertThat(rule.roundSynced(SECOND, 2 * MB, 8 * MB)).isNull();
        assertThat(rule.roundSynced(SECOND + 1, 2 * MB, 10 * MB)).as("high: 6 MB of 10 MB; judged alone, "
                + "2 MB is not").isNull();
        // a second period the same: it fires, with the whole period's figures
        rule.roundSynced(SECOND + SECOND / 2, 2 * MB, 14 * MB);
        rule.roundSynced(2 * SECOND, 2 * MB, 18 * MB);
        assertThat(rule.roundSynced(2 * SECOND + 2, 2 * MB, 20 * MB))
                .isEqualTo(new ThrottleRule.Fired(6 * MB, 10 * MB, 5 * MB, 1000));
    }
}
