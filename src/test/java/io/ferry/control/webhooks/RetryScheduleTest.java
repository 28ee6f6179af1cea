package io.ferry.control.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RetryScheduleTest {

    private final RetrySchedule defaults = new RetrySchedule(Duration.ofSeconds(1), Duration.ofSeconds(60));

    @ParameterizedTest(name = "after failure {0}: {1} ms")
    @CsvSource({
            "1, 1000",
            "2, 2000",
            "3, 4000",
            "4, 8000",
            "5, 16000",
            "6, 32000",
            "7, 60000",       // 64 s capped
            "8, 60000",
            "40, 60000",
            "63, 60000",
            "64, 60000",
            "2147483647, 60000"})
    void doublesFromOneSecondUpToSixty(int failures, long millis) {
        assertThat(defaults.delayAfter(failures)).isEqualTo(Duration.ofMillis(millis));
    }

    @Test
    void aScheduleThatDoesNotDivideEvenlyStopsAtItsMaximum() {
        RetrySchedule schedule = new RetrySchedule(Duration.ofMillis(300), Duration.ofMillis(1000));
        assertThat(schedule.delayAfter(1)).isEqualTo(Duration.ofMillis(300));
        assertThat(schedule.delayAfter(2)).isEqualTo(Duration.ofMillis(600));
        assertThat(schedule.delayAfter(3)).isEqualTo(Duration.ofMillis(1000));
        assertThat(schedule.delayAfter(4)).isEqualTo(Duration.ofMillis(1000));
    }

    @Test
    void refusesNonsense() {
        assertThatThrownBy(() -> new RetrySchedule(Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetrySchedule(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shorter");
        assertThatThrownBy(() -> defaults.delayAfter(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
