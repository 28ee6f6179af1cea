package io.ferry.control.api;

import io.ferry.channel.DirtyRateReport;
import io.ferry.control.job.JobPlan;
import io.ferry.control.preflight.ConvergenceForecast;
import io.ferry.control.preflight.PreflightService;
import java.util.List;
import java.util.UUID;

/**
 * A pre-flight answer: would the request be accepted and admitted now (or what would it wait
 * for), with which settings under which policy, which checks fail, and the forecast.
 */
record PreflightResponse(boolean accepted, boolean admissibleNow, String wouldWaitFor, Plan plan,
                         List<CheckView> failedChecks, ForecastView forecast, String forecastError) {

    record CheckView(String check, String detail) {
    }

    record Plan(UUID guestId, String sourceHostId, String destinationHostId, String priority,
                MigrationResponse.ParametersView parameters, MigrationResponse.PolicyView policy, long memoryBytes,
                long transferBytes) {
    }

    record ForecastView(String verdict, long predictedTotalTimeMs, long predictedDowntimeMs, int rounds,
                        double dirtyPagesPerSecond, double dirtyBytesPerSecond, long dirtyRateWindowMs,
                        long sampledPages, String dirtyRateSource, long bandwidthBytesPerSecond,
                        String bandwidthSource) {
    }

    static PreflightResponse of(PreflightService.Answer a) {
        JobPlan p = a.plan();
        Plan plan = p == null ? null : new Plan(p.guestId(), p.sourceHostId(), p.destinationHostId(),
                p.priority().apiName(), MigrationResponse.ParametersView.of(p.parameters()), MigrationResponse.PolicyView.of(p.policy()),
                p.memoryBytes(), p.transferBytes());
        ForecastView forecast = null;
        if (a.forecast() != null) {
            DirtyRateReport r = a.forecast().dirtyRate();
            ConvergenceForecast.Prediction f = a.forecast().prediction();
            forecast = new ForecastView(f.verdict().apiName(), f.totalTimeMs(), f.downtimeMs(), f.rounds(),
                    r.dirtyPagesPerSecond(), r.dirtyBytesPerSecond(), r.windowMs(), r.sampledPages(),
                    a.forecast().dirtyRateSource().apiName(), a.forecast().bandwidthBytesPerSecond(), a.forecast().bandwidthSource());
        }
        return new PreflightResponse(a.failures().isEmpty(), a.admissibleNow(), a.wouldWaitFor(), plan,
                a.failures().stream().map(c -> new CheckView(c.name(), c.detail())).toList(), forecast,
                a.forecastError());
    }
}
