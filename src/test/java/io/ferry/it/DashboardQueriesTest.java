package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** How metric names are read out of PromQL and out of an exposition. */
class DashboardQueriesTest {

    @Test
    void functionsAggregationsLabelsRangesGroupingAndVariablesAreNotMetrics() {
        assertThat(DashboardQueries.metricNames("histogram_quantile(0.95, sum by (le, outcome) "
                + "(rate(ferry_migration_duration_seconds_bucket{outcome=~\"completed|failed\"}[$__rate_interval])))"))
                .containsExactly("ferry_migration_duration_seconds_bucket");
        assertThat(DashboardQueries.metricNames("sum(rate(a_total[5m])) by (kind) / on(kind) group_left(host) "
                + "max without (instance) (b_bytes offset 1h) * 60 and bool c:recorded:rate5m"))
                .containsExactly("a_total", "b_bytes", "c:recorded:rate5m");
        assertThat(DashboardQueries.metricNames("max by (status) (ferry_jobs{status!=\"by(x)\"}) > 1e3"))
                .containsExactly("ferry_jobs");
        assertThat(DashboardQueries.metricNames("sum(increase(x_count[${__range}])) or vector(0)"))
                .containsExactly("x_count");
    }

    @Test
    void samplesAreNamedWithTheirSuffixes() {
        String exposition = """
                # HELP t_seconds a timer
                # TYPE t_seconds histogram
                t_seconds_bucket{le="0.1",outcome="completed"} 1
                t_seconds_count{outcome="completed"} 1
                t_seconds_sum{outcome="completed"} 0.05
                # TYPE c_bytes_total counter
                c_bytes_total{kind="ram"} 4096.0
                up 1
                """;
        assertThat(DashboardQueries.sampleNames(exposition))
                .containsExactlyInAnyOrder("t_seconds_bucket", "t_seconds_count", "t_seconds_sum", "c_bytes_total", "up");
    }

    @Test
    void theShippedDashboardQueriesEveryMetricTheIssueAsksFor() throws Exception {
        assertThat(DashboardQueries.metricNames(Path.of("helm", "ferry", "dashboards", "ferry.json")))
                .contains("ferry_migration_sent_bytes_total", "ferry_migration_duration_seconds_bucket",
                        "ferry_migration_downtime_seconds_bucket", "ferry_jobs", "ferry_queue_wait_seconds_bucket",
                        "ferry_postcopy_fault_latency_seconds_bucket", "ferry_handoff_step_seconds_bucket");
    }
}
