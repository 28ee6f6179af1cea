package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.ConvergenceSettings.AutoConverge;
import io.ferry.channel.MigrationProgress;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Auto-converge applied to a guest: the rule's verdicts become its throttle, and every end lifts it. */
class AutoConvergenceTest {

    private static final long MB = 1_000_000;
    private static final long SECOND = 1_000_000_000L;

    @TempDir
    Path datastore;

    private SyntheticGuest guest;
    private final long[] now = {0};
    private long sent;

    @BeforeEach
    void createGuest() throws Exception {
        guest = SyntheticGuest.create(new GuestSpec("throttled", List.of(new RamBlockSpec("pc.ram", 16L << 20)),
                List.of(), 4096, WorkloadSpec.idle()), datastore);
    }

    @AfterEach
    void closeGuest() {
        guest.close();
    }

    private AutoConvergence autoConvergence(AutoConverge parameters) {
        AutoConvergence auto = new AutoConvergence(guest, parameters, () -> now[0]);
        auto.afterSync(1, 0, sent);   // the bulk round
        return auto;
    }

    /** One period of two seconds in which the guest dirtied 8 MB while 10 MB went out: high. */
    private void highPeriod(AutoConvergence auto, long round) {
        now[0] += 2 * SECOND;
        sent += 10 * MB;
        auto.afterSync(round, 8 * MB, sent);
    }

    @Test
    void everySecondHighPeriodRaisesTheGuestsThrottle() {
        AutoConvergence auto = autoConvergence(AutoConverge.ON);
        assertThat(auto.figures()).isEqualTo(new MigrationProgress.Throttle(0, 0, 0));

        highPeriod(auto, 2);
        assertThat(guest.throttlePercent()).isZero();
        highPeriod(auto, 3);
        assertThat(guest.throttlePercent()).isEqualTo(20);
        highPeriod(auto, 4);
        highPeriod(auto, 5);
        assertThat(guest.throttlePercent()).isEqualTo(30);
        assertThat(auto.figures()).isEqualTo(new MigrationProgress.Throttle(30, 2, 4000));
        assertThat(guest.state()).as("a throttle is not a pause").isEqualTo(io.ferry.guest.GuestState.RUNNING);

        now[0] += SECOND;
        auto.end("the guest paused for the switchover");
        assertThat(guest.throttlePercent()).isZero();
        assertThat(auto.figures()).isEqualTo(new MigrationProgress.Throttle(0, 2, 5000));
        assertThat(auto.enable()).as("too late").isFalse();
        highPeriod(auto, 6);
        highPeriod(auto, 7);
        assertThat(guest.throttlePercent()).as("ended for good").isZero();
    }

    @Test
    void offItReportsNothingAndTurnedOnItActsOnWhatItCounted() {
        AutoConvergence auto = autoConvergence(AutoConverge.OFF);
        highPeriod(auto, 2);
        highPeriod(auto, 3);
        assertThat(guest.throttlePercent()).as("the rule fired, but auto-converge is off").isZero();
        assertThat(auto.figures()).as("never on: no figures").isNull();

        highPeriod(auto, 4);   // counted while off
        assertThat(auto.enable()).isTrue();
        assertThat(auto.enable()).as("idempotent").isTrue();
        highPeriod(auto, 5);
        assertThat(guest.throttlePercent()).isEqualTo(20);

        auto.disable();
        assertThat(guest.throttlePercent()).as("turned off: lifted").isZero();
        assertThat(auto.state()).isEqualTo(AutoConvergence.State.OFF);
        assertThat(auto.figures()).as("on once: reported").isEqualTo(new MigrationProgress.Throttle(0, 1, 0));
    }

    @Test
    void tailSlowRaisesByWhatTheRatioCallsFor() {
        AutoConvergence auto = autoConvergence(new AutoConverge(true, 20, 10, 99, true));
        highPeriod(auto, 2);
        highPeriod(auto, 3);
        assertThat(guest.throttlePercent()).isEqualTo(20);
        // 5.2 MB dirtied against 5 MB allowed: cpu 80 → ideal ⌊76.9⌋, 4 more rather than 10
        for (long round = 4; round <= 5; round++) {
            now[0] += 2 * SECOND;
            sent += 10 * MB;
            auto.afterSync(round, 5_200_000, sent);
        }
        assertThat(guest.throttlePercent()).isEqualTo(24);
    }
}
