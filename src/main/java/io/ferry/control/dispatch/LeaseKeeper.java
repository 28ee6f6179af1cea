package io.ferry.control.dispatch;

import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.lease.JobLeases;
import io.ferry.control.lease.SweepLease;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Keeps this replica's leases: renews the jobs it drives and, on the replica that runs the
 * sweeps, takes over the jobs whose driver stopped renewing (killed, stalled, partitioned) and
 * settles each from its workers' facts ({@link JobTakeover}).
 */
@Component
class LeaseKeeper {

    private static final Logger log = LoggerFactory.getLogger(LeaseKeeper.class);

    private final JobLeases leases;
    private final SweepLease sweeps;
    private final JobStore jobs;
    private final JobTakeover takeover;
    private final boolean enabled;
    /** Settling asks workers: one slow worker must not hold back the renewals. */
    private final ExecutorService settler = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "job-takeover");
        t.setDaemon(true);
        return t;
    });

    LeaseKeeper(JobLeases leases, SweepLease sweeps, JobStore jobs, JobTakeover takeover,
                @Value("${ferry.dispatcher.enabled:true}") boolean enabled) {
        this.leases = leases;
        this.sweeps = sweeps;
        this.jobs = jobs;
        this.takeover = takeover;
        this.enabled = enabled;
    }

    @PreDestroy
    void stop() {
        settler.shutdownNow();
    }

    @Scheduled(fixedDelayString = "${ferry.leases.check-interval:1s}")
    void keep() {
        if (!enabled) {
            return;
        }
        try {
            leases.renewAll();
            if (!sweeps.renew()) {
                return;
            }
            List<UUID> running = jobs.running().stream().map(MigrationJob::id).toList();
            for (UUID jobId : leases.takeOverOrphans(running)) {
                settler.execute(() -> takeover.settle(jobId));
            }
        } catch (RuntimeException e) {
            log.warn("lease round failed (the next one retries): {}", e.toString());
        }
    }
}
