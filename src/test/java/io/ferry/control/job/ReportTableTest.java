package io.ferry.control.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.MigrationPhase;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The report table, row by row: what each reported phase does to a job in each status. Steps
 * are written {@code >status} (transition), {@code handover}, {@code handover-if-diskless},
 * {@code failure} (keep the reason as the failure); {@code -} is "figures only".
 */
class ReportTableTest {

    @ParameterizedTest(name = "{0} + {1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            setup            | active          | >active
            active           | active          | -
            queued           | active          | -
            completed        | active          | -
            setup            | postcopy-active | >active handover-if-diskless >postcopy-active
            active           | postcopy-active | handover-if-diskless >postcopy-active
            postcopy-paused  | postcopy-active | handover-if-diskless >postcopy-active
            postcopy-active  | postcopy-active | -
            cancelling       | postcopy-active | -
            active           | postcopy-paused | >postcopy-paused
            postcopy-active  | postcopy-paused | >postcopy-paused
            postcopy-paused  | postcopy-paused | -
            setup            | postcopy-paused | -
            setup            | completed       | >active handover >completed
            active           | completed       | handover >completed
            postcopy-active  | completed       | handover >completed
            postcopy-paused  | completed       | >postcopy-active handover >completed
            cancelling       | completed       | handover >completed
            failed           | completed       | failure handover
            completed        | completed       | -
            cancelled        | completed       | -
            queued           | completed       | -
            queued           | failed          | failure >failed
            setup            | failed          | failure >failed
            postcopy-paused  | failed          | failure >failed
            failed           | failed          | -
            completed        | failed          | -
            setup            | cancelled       | >cancelling >cancelled
            active           | cancelled       | >cancelling >cancelled
            cancelling       | cancelled       | >cancelled
            postcopy-active  | cancelled       | -
            cancelled        | cancelled       | -
            active           | progress        | -
            active           | verified        | -
            """)
    void eachStatusAndPhase(String status, String phase, String expected) {
        List<ReportTable.Step> steps = ReportTable.steps(JobStatus.fromApiName(status), MigrationPhase.fromWireName(phase));
        assertThat(render(steps)).isEqualTo(expected);
    }

    @Test
    void everyTransitionTheTableTakesIsInTheStatusTable() {
        for (JobStatus status : JobStatus.values()) {
            for (MigrationPhase phase : MigrationPhase.values()) {
                JobStatus now = status;
                for (ReportTable.Step step : ReportTable.steps(status, phase)) {
                    if (step instanceof ReportTable.To to) {
                        assertThat(now.canMoveTo(to.status())).as("%s + %s: %s -> %s", status, phase, now,
                                to.status()).isTrue();
                        now = to.status();
                    }
                }
            }
        }
    }

    @Test
    void aFinishedJobOnlyEverRecordsWhereTheGuestIs() {
        Set<String> seen = new HashSet<>();
        for (JobStatus terminal : EnumSet.of(JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)) {
            for (MigrationPhase phase : MigrationPhase.values()) {
                seen.add(render(ReportTable.steps(terminal, phase)));
            }
        }
        assertThat(seen).containsExactlyInAnyOrder("-", "failure handover");
    }

    private static String render(List<ReportTable.Step> steps) {
        if (steps.isEmpty()) {
            return "-";
        }
        return steps.stream().map(s -> {
            if (s instanceof ReportTable.To to) {
                return ">" + to.status().apiName();
            } else if (s instanceof ReportTable.HandOver) {
                return "handover";
            } else if (s instanceof ReportTable.HandOverWithoutDisks) {
                return "handover-if-diskless";
            }
            return "failure";
        }).collect(Collectors.joining(" "));
    }
}
