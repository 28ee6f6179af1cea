package io.ferry.control.job;

import static io.ferry.control.job.JobStatus.ACTIVE;
import static io.ferry.control.job.JobStatus.CANCELLED;
import static io.ferry.control.job.JobStatus.CANCELLING;
import static io.ferry.control.job.JobStatus.COMPLETED;
import static io.ferry.control.job.JobStatus.FAILED;
import static io.ferry.control.job.JobStatus.POSTCOPY_ACTIVE;
import static io.ferry.control.job.JobStatus.POSTCOPY_PAUSED;
import static io.ferry.control.job.JobStatus.QUEUED;
import static io.ferry.control.job.JobStatus.SETUP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JobStatusTest {

    /** The whole table, written out: every state and the only states it may move to. */
    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of(QUEUED, EnumSet.of(SETUP, CANCELLED, FAILED)),
                Arguments.of(SETUP, EnumSet.of(ACTIVE, CANCELLING, FAILED)),
                Arguments.of(ACTIVE, EnumSet.of(POSTCOPY_ACTIVE, POSTCOPY_PAUSED, COMPLETED, CANCELLING, FAILED)),
                Arguments.of(POSTCOPY_ACTIVE, EnumSet.of(COMPLETED, POSTCOPY_PAUSED, FAILED)),
                Arguments.of(POSTCOPY_PAUSED, EnumSet.of(POSTCOPY_ACTIVE, FAILED)),
                Arguments.of(CANCELLING, EnumSet.of(CANCELLED, COMPLETED, FAILED)),
                Arguments.of(COMPLETED, EnumSet.noneOf(JobStatus.class)),
                Arguments.of(FAILED, EnumSet.noneOf(JobStatus.class)),
                Arguments.of(CANCELLED, EnumSet.noneOf(JobStatus.class)));
    }

    @ParameterizedTest
    @MethodSource("table")
    void movesOnlyAlongTheTable(JobStatus from, Set<JobStatus> allowed) {
        for (JobStatus to : JobStatus.values()) {
            assertThat(from.canMoveTo(to)).as("%s -> %s", from, to).isEqualTo(allowed.contains(to));
        }
        assertThat(from.isTerminal()).isEqualTo(allowed.isEmpty());
    }

    @Test
    void anIllegalMoveNamesBothStates() {
        assertThatThrownBy(() -> COMPLETED.checkTransition(ACTIVE))
                .isInstanceOf(IllegalTransitionException.class)
                .hasMessage("illegal job transition from 'completed' to 'active'");
    }

    @Test
    void cancelIsRefusedOncePostcopyHoldsTheGuestOnBothSides() {
        assertThat(Stream.of(JobStatus.values()).filter(JobStatus::isCancellable))
                .containsExactlyInAnyOrder(QUEUED, SETUP, ACTIVE);
    }

    @Test
    void statusesUseQemuSpelling() {
        assertThat(Stream.of(JobStatus.values()).map(JobStatus::apiName)).containsExactly("queued", "setup", "active",
                "postcopy-active", "postcopy-paused", "cancelling", "completed", "failed", "cancelled");
        assertThat(JobStatus.fromApiName("postcopy-paused")).isEqualTo(POSTCOPY_PAUSED);
        assertThatThrownBy(() -> JobStatus.fromApiName("paused")).hasMessageContaining("'paused'");
    }
}
