package io.ferry.control.job;

import io.ferry.channel.AbandonCommand;
import io.ferry.channel.AbandonReport;
import io.ferry.channel.DiskGeneration;
import io.ferry.control.guest.Disk;
import io.ferry.control.guest.GuestService;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipService;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * An operator's way out of a stranded post-copy: a {@code postcopy-paused} job whose other
 * side's worker is gone holds parts of the guest on each side, and the control plane never
 * decides on its own which to keep (QEMU leaves the same choice to the user). The operator
 * names the side to keep. Refused while both workers are reachable (then the link can be
 * recovered) or when the side to keep is the unreachable one. In one transaction every disk
 * moves to ACTIVE on the kept host at the next generation (the lost side's fence goes stale),
 * the guest is recorded there and the job fails with the decision on its timeline; then the kept
 * side's worker is told to end the migration and run the guest as its own. A repeat resends
 * that command (e.g. when the worker did not answer the first time).
 */
@Service
public class PostcopyAbandon {

    private static final Logger log = LoggerFactory.getLogger(PostcopyAbandon.class);
    static final String DECIDED = "abandoned by ";

    private final JobStore store;
    private final JobEventRepository events;
    private final HostService hosts;
    private final GuestService guests;
    private final OwnershipService ownership;
    private final WorkerGateway workers;
    private final TransactionTemplate tx;

    PostcopyAbandon(JobStore store, JobEventRepository events, HostService hosts, GuestService guests,
                    OwnershipService ownership, WorkerGateway workers, PlatformTransactionManager txManager) {
        this.store = store;
        this.events = events;
        this.hosts = hosts;
        this.guests = guests;
        this.ownership = ownership;
        this.workers = workers;
        this.tx = new TransactionTemplate(txManager);
    }

    /** What the kept side's worker answered: the job, and how many pages the guest lost. */
    public record Outcome(MigrationJob job, AbandonReport report) {
    }

    public Outcome abandon(UUID id, AbandonSide keep, String reason, String actor) {
        MigrationJob job = store.get(id);
        Host source = hosts.find(job.sourceHostId()).orElseThrow();
        Host destination = hosts.find(job.destinationHostId()).orElseThrow();
        Host kept = keep == AbandonSide.SOURCE ? source : destination;
        Host lost = keep == AbandonSide.SOURCE ? destination : source;
        String decision = DECIDED + actor + ": kept the " + keep.apiName() + " on " + kept.id() + " (" + reason + ")";
        boolean repeat = job.status() == JobStatus.FAILED && decidedBefore(id, keep);
        if (!repeat) {
            if (job.status() != JobStatus.POSTCOPY_PAUSED) {
                throw new JobConflictException("job " + id + " is " + job.status().apiName()
                        + "; only a postcopy-paused job can be abandoned");
            }
            boolean sourceAlive = alive(source, job.sourceWorkerInstance());
            boolean destinationAlive = alive(destination, job.destinationWorkerInstance());
            if (sourceAlive && destinationAlive) {
                throw new JobConflictException("both workers of job " + id + " are reachable and still hold their "
                        + "halves: recover the link instead (POST /api/v1/migrations/" + id + "/recover)");
            }
            if (!(keep == AbandonSide.SOURCE ? sourceAlive : destinationAlive)) {
                throw new JobConflictException("the " + keep.apiName() + " (" + kept.id() + ") is the side that is "
                        + "gone (unreachable, or its worker restarted): its half of the guest cannot be kept");
            }
        } else if (!kept.isReachable()) {
            throw new JobConflictException("the " + keep.apiName() + " (" + kept.id() + ") is unreachable");
        }
        List<UUID> diskIds = guests.disksOf(job.guestId()).stream().map(Disk::id).toList();
        List<DiskOwnership> granted = tx.execute(s -> {
            List<DiskOwnership> disks = ownership.abandon(id, kept.id(), diskIds, reason, actor);
            if (!repeat) {
                MigrationJob j = store.get(id);
                if (!guests.get(j.guestId()).hostId().equals(kept.id())) {
                    guests.moveTo(j.guestId(), kept, j.guestRunState());
                }
                store.note(j, JobEvent.Kind.DECISION, decision + "; " + lost.id() + "'s half is given up", actor);
                j.recordFailure(decision);
                store.transition(j, JobStatus.FAILED, decision, actor);
            }
            return disks;
        });
        log.warn("job {}: {}", id, decision);
        try {
            AbandonReport report = workers.abandonMigration(kept, id, new AbandonCommand(reason,
                    granted.stream().map(d -> new DiskGeneration(d.diskId(), d.generation())).toList()));
            store.inJob(id, j -> store.note(j, JobEvent.Kind.DECISION, kept.id() + " runs the guest as its own; "
                    + report.lostPages() + " page(s) lost with " + lost.id(), actor));
            return new Outcome(store.get(id), report);
        } catch (WorkerRejectedException refused) {
            throw new JobConflictException("the records keep the guest on " + kept.id() + ", but its worker "
                    + "refused: " + refused.getMessage() + "; repeat the request once it can answer");
        }
    }

    /** The host answers and is still the worker process the job started on. */
    private static boolean alive(Host host, String startedOn) {
        return host.isReachable() && (startedOn == null || startedOn.equals(host.workerInstance()));
    }

    private boolean decidedBefore(UUID id, AbandonSide keep) {
        return events.findByJobIdOrderByIdAsc(id).stream().anyMatch(e -> e.kind() == JobEvent.Kind.DECISION
                && e.reason().startsWith(DECIDED) && e.reason().contains("kept the " + keep.apiName() + " "));
    }
}
