package io.ferry.control.preflight;

import io.ferry.channel.DirtyRateReport;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.DirtyRateCommand;
import io.ferry.control.admission.AdmissionService;
import io.ferry.control.guest.DirtyRateService;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.job.JobFilter;
import io.ferry.control.job.JobPlan;
import io.ferry.control.job.JobPlanner;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobViews;
import io.ferry.control.job.MigrationCommands;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.NewMigration;
import java.util.List;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Service;
import org.springframework.util.unit.DataSize;

/**
 * Pre-flight: what a migration request would meet now, without moving anything — the plan
 * (destination, resolved settings, policy), the checks it fails, whether admission would start
 * it or what it would wait for, and a convergence forecast from the guest's dirty rate measured
 * on its worker (QEMU's calc-dirty-rate by page sampling) and the link's bandwidth.
 *
 * <p>A measurement the operator took through {@code POST /api/v1/guests/{id}/dirty-rate} stands
 * in for a new one when it is as good as one taken now: at most {@link #STORED_RATE_MAX_AGE}
 * old, on the guest's current host, over the same window, with the guest in the same state, and
 * with no fewer sample pages than the pre-flight would take (or by the dirty log). The forecast
 * says which it used ({@code dirtyRateSource}).
 *
 * <p>The link's bandwidth is the job's {@code maxBandwidth} capped by the fastest throughput an
 * unlimited job between the same two hosts reached (the latest 20 completed), or by
 * {@code ferry.preflight.assumed-link-bandwidth} when none ran yet. The switchover's fixed cost
 * (added to downtime and total) is the least downtime a recent job between them had, or
 * {@code ferry.preflight.assumed-switchover}.
 */
@Service
public class PreflightService {

    private final MigrationCommands commands;
    private final AdmissionService admission;
    private final HostService hosts;
    private final WorkerGateway workers;
    private final DirtyRateService dirtyRates;
    private final JobViews views;
    private final long assumedLinkBandwidth;
    private final long assumedSwitchoverMs;

    PreflightService(MigrationCommands commands, AdmissionService admission, HostService hosts, WorkerGateway workers,
                     DirtyRateService dirtyRates, JobViews views,
                     @Value("${ferry.preflight.assumed-link-bandwidth:1GB}") DataSize assumedLinkBandwidth,
                     @Value("${ferry.preflight.assumed-switchover:50ms}") java.time.Duration assumedSwitchover) {
        this.assumedSwitchoverMs = assumedSwitchover.toMillis();
        this.commands = commands;
        this.admission = admission;
        this.hosts = hosts;
        this.workers = workers;
        this.dirtyRates = dirtyRates;
        this.views = views;
        this.assumedLinkBandwidth = assumedLinkBandwidth.toBytes();
    }

    /** How old a stored measurement may be to stand in for a new one. */
    static final java.time.Duration STORED_RATE_MAX_AGE = java.time.Duration.ofSeconds(60);

    /** Where the forecast's dirty rate comes from. */
    public enum DirtyRateSource {
        /** Measured for this pre-flight. */
        MEASURED_NOW("measured-now"),
        /** The guest's stored measurement (see the class comment). */
        STORED("stored");

        private final String apiName;

        DirtyRateSource(String apiName) {
            this.apiName = apiName;
        }

        public String apiName() {
            return apiName;
        }
    }

    /** The dirty rate (and where it came from), the bandwidth assumed (and where it came from), and the prediction. */
    public record Forecast(DirtyRateReport dirtyRate, DirtyRateSource dirtyRateSource, long bandwidthBytesPerSecond,
                           String bandwidthSource, ConvergenceForecast.Prediction prediction) {
    }

    /** {@code forecastError} says why there is no forecast (e.g. the source worker is unreachable). */
    public record Answer(JobPlan plan, List<JobPlanner.Check> failures, boolean admissibleNow, String wouldWaitFor,
                         Forecast forecast, String forecastError) {
    }

    public Answer check(NewMigration request, long dirtyRateWindowMs) {
        JobPlanner.Planned planned = commands.plan(request);
        JobPlan plan = planned.plan();
        if (plan == null) {
            return new Answer(null, planned.failures(), false, null, null, "no plan: " + planned.failures().get(0)
                    .detail());
        }
        String wait = planned.ok() ? admission.wouldWaitFor(plan) : null;
        Forecast forecast = null;
        String forecastError = null;
        try {
            int samples = samplePagesPerGiB(plan.memoryBytes());
            DirtyRateReport stored = dirtyRates.fresh(plan.guestId(), plan.sourceHostId(), dirtyRateWindowMs, samples,
                    STORED_RATE_MAX_AGE).orElse(null);
            DirtyRateReport rate = stored != null ? stored
                    : workers.measureDirtyRate(hosts.find(plan.sourceHostId()).orElseThrow(), plan.guestId(),
                            DirtyRateCommand.sampling(dirtyRateWindowMs, samples));
            LinkHistory history = history(plan.sourceHostId(), plan.destinationHostId());
            long observed = history.bytesPerSecond();
            long link = observed > 0 ? observed : assumedLinkBandwidth;
            long limit = plan.parameters().maxBandwidth();
            long bandwidth = limit > 0 ? Math.min(limit, link) : link;
            String source = limit > 0 && limit <= link ? "maxBandwidth"
                    : observed > 0 ? "observed link throughput" : "assumed link bandwidth";
            forecast = new Forecast(rate, stored != null ? DirtyRateSource.STORED : DirtyRateSource.MEASURED_NOW,
                    bandwidth, source, ConvergenceForecast.predict(plan.memoryBytes(),
                    plan.transferBytes() - plan.memoryBytes(), rate.zeroPageFraction(), rate.dirtyBytesPerSecond(),
                    bandwidth, plan.parameters().downtimeLimitMs(), plan.parameters().postcopy(),
                    history.leastDowntimeMs() >= 0 ? history.leastDowntimeMs() : assumedSwitchoverMs));
        } catch (RuntimeException e) {
            forecastError = "the dirty rate could not be measured on " + plan.sourceHostId() + ": " + e.getMessage();
        }
        return new Answer(plan, planned.failures(), planned.ok() && wait == null, wait, forecast, forecastError);
    }

    /**
     * QEMU's 512 sample pages per GiB, but at least {@value #MIN_SAMPLED_PAGES} pages in all: a
     * small guest would otherwise be judged on a handful of pages (16 for 32 MiB), and a sample
     * that happens to miss every written page forecasts a busy guest as idle.
     */
    static int samplePagesPerGiB(long memoryBytes) {
        long perGiB = (long) Math.ceil(MIN_SAMPLED_PAGES * (double) (1L << 30) / Math.max(memoryBytes, 1));
        return (int) Math.max(512, Math.min(perGiB, (1L << 30) / 4096));
    }

    static final int MIN_SAMPLED_PAGES = 1024;

    /**
     * What recent completed jobs between the two hosts showed: the fastest throughput of an
     * unlimited one (0 when none ran), and the least downtime of any (-1 when none ran): the
     * switchover's fixed cost, as near as a finished job shows it.
     */
    private record LinkHistory(long bytesPerSecond, long leastDowntimeMs) {
    }

    private LinkHistory history(String source, String destination) {
        long best = 0;
        long leastDowntime = -1;
        for (MigrationJob j : views.list(new JobFilter(JobStatus.COMPLETED, null, source), null, 20).items()) {
            if (!j.destinationHostId().equals(destination)) {
                continue;
            }
            MigrationProgress p = views.progress(j);
            if (p != null && p.downtimeMs() != null) {
                leastDowntime = leastDowntime < 0 ? p.downtimeMs() : Math.min(leastDowntime, p.downtimeMs());
            }
            if (j.parameters().maxBandwidth() == 0 && p != null && p.ram() != null && p.totalTimeMs() > 0) {
                long bytesPerSecond = (long) (p.ram().mbps() * 1_000_000 / 8);
                best = Math.max(best, bytesPerSecond);
            }
        }
        return new LinkHistory(best, leastDowntime);
    }
}
