package io.ferry.control.guest;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.DirtyRateMode;
import io.ferry.channel.DirtyRateReport;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A measurement's lifecycle as its row records it: only its own run ends it, and a run that never
 * answers (its control plane stopped mid-window) reads as failed once the window and the grace
 * have passed, so no guest shows {@code measuring} for ever.
 */
class DirtyRateMeasurementTest {

    private static final Instant START = Instant.parse("2026-01-02T03:04:05Z");
    private final UUID guestId = UUID.randomUUID();
    private final UUID run = UUID.randomUUID();

    private DirtyRateMeasurement started() {
        DirtyRateMeasurement m = new DirtyRateMeasurement(guestId);
        m.start(run, DirtyRateMode.PAGE_SAMPLING, 2000, 512, "host-a", START);
        return m;
    }

    private DirtyRateReport report() {
        return new DirtyRateReport(guestId, DirtyRateMode.PAGE_SAMPLING, 2000, 2001.5, 512, 16, 4, 8192,
                1024.0, 1024.0 * 4096, 0.5, "running", START.plusMillis(2002));
    }

    @Test
    void aRunThatNeverAnswersReadsAsFailedOnceItsWindowAndTheGraceHavePassed() {
        DirtyRateMeasurement m = started();
        Instant deadline = START.plusMillis(2000).plus(DirtyRateMeasurement.RESULT_GRACE);
        assertThat(m.resultDeadline()).isEqualTo(deadline);
        assertThat(m.status(START)).isEqualTo(DirtyRateStatus.MEASURING);
        assertThat(m.status(deadline)).isEqualTo(DirtyRateStatus.MEASURING);
        assertThat(m.reason(deadline)).isNull();
        assertThat(m.status(deadline.plusMillis(1))).isEqualTo(DirtyRateStatus.FAILED);
        assertThat(m.reason(deadline.plusMillis(1))).contains("no result by " + deadline, "stopped");
        assertThat(m.report()).isEmpty();
    }

    @Test
    void onlyItsOwnRunEndsAMeasurementAndOnlyOnce() {
        DirtyRateMeasurement m = started();
        assertThat(m.measured(UUID.randomUUID(), report())).as("a replaced run's late answer").isFalse();
        assertThat(m.failed(UUID.randomUUID(), "late", START)).isFalse();
        assertThat(m.status(START)).isEqualTo(DirtyRateStatus.MEASURING);

        assertThat(m.measured(run, report())).isTrue();
        assertThat(m.failed(run, "too late", START)).as("ended already").isFalse();
        Instant muchLater = START.plusSeconds(3600);
        assertThat(m.status(muchLater)).as("a result never expires").isEqualTo(DirtyRateStatus.MEASURED);
        assertThat(m.reason(muchLater)).isNull();
        assertThat(m.report()).contains(report());
    }

    @Test
    void aNewMeasurementForgetsTheLastOnesFigures() {
        DirtyRateMeasurement m = started();
        m.measured(run, report());
        UUID next = UUID.randomUUID();
        m.start(next, DirtyRateMode.DIRTY_BITMAP, 100, 1, "host-b", START.plusSeconds(10));
        assertThat(m.status(START.plusSeconds(10))).isEqualTo(DirtyRateStatus.MEASURING);
        assertThat(m.dirtyPagesPerSecond()).isNull();
        assertThat(m.measuredAt()).isNull();
        assertThat(m.hostId()).isEqualTo("host-b");
        assertThat(m.failed(next, "worker on 'host-b' refused: guest is incoming", START.plusSeconds(11))).isTrue();
        assertThat(m.status(START.plusSeconds(11))).isEqualTo(DirtyRateStatus.FAILED);
        assertThat(m.reason(START.plusSeconds(11))).contains("incoming");
        assertThat(m.report()).isEmpty();
    }
}
