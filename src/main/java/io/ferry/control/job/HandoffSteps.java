package io.ferry.control.job;

import io.ferry.channel.OwnershipGrant;
import io.ferry.channel.HandoffStep;
import io.ferry.channel.OwnershipStep;
import io.ferry.control.guest.GuestService;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** The disk hand-off steps workers ask for, each a compare-and-set on the ownership records (see {@link OwnershipService}). */
@Service
public class HandoffSteps {

    private final JobStore store;
    private final GuestService guests;
    private final OwnershipService ownership;
    private final TransactionTemplate tx;

    HandoffSteps(JobStore store, GuestService guests, OwnershipService ownership,
                 PlatformTransactionManager txManager) {
        this.store = store;
        this.guests = guests;
        this.ownership = ownership;
        this.tx = new TransactionTemplate(txManager);
    }

    /**
     * One hand-off step a worker asks for (see {@link OwnershipStep}), applied to all the
     * guest's disks in one transaction. Activation also records the guest on the destination in
     * that transaction: where the disks may be written is where the guest runs.
     *
     * @throws io.ferry.control.ownership.OwnershipConflictException when another step won
     */
    public OwnershipGrant ownershipStep(UUID jobId, OwnershipStep step, String actor) {
        MigrationJob job = store.get(jobId);
        Map<UUID, Long> base = new LinkedHashMap<>();
        step.disks().forEach(d -> base.put(d.diskId(), d.generation()));
        Set<UUID> guestDisks = guests.disksOf(job.guestId()).stream().map(d -> d.id()).collect(Collectors.toSet());
        if (!guestDisks.equals(base.keySet())) {
            throw new IllegalArgumentException("a hand-off step must name exactly the disks of guest " + job.guestId());
        }
        boolean activation = step.step().activates();
        String expectedHost = activation ? job.destinationHostId() : job.sourceHostId();
        if (!expectedHost.equals(step.hostId())) {
            throw new IllegalArgumentException("step " + step.step().wireName() + " of job " + jobId + " belongs to host "
                    + expectedHost + ", not " + step.hostId());
        }
        List<DiskOwnership> result = tx.execute(status -> switch (step.step()) {
            case HANDOFF -> ownership.handOff(jobId, step.hostId(), base, actor);
            case ACTIVATE, ACTIVATE_POSTCOPY -> {
                List<DiskOwnership> activated = ownership.activate(jobId, step.hostId(), base, actor);
                store.handOver(job);
                yield activated;
            }
            case REACTIVATE -> ownership.reactivate(jobId, step.hostId(), base,
                    "the hand-off did not complete", actor);
        });
        if (activation) {
            // The commit point of the migration: the destination is the only writer now, whatever
            // becomes of the source or the link. The job completes with the source's report,
            // whose figures (downtime, total time) are then final; should the source never send
            // it, the dispatcher completes the job a few seconds later without them.
            // In post-copy the guest runs there from now on, but the job ends with the last page.
            long generation = result.isEmpty() ? 0 : result.get(0).generation();
            String why = "destination " + step.hostId() + " activated the disks at generation " + generation
                    + " and runs the guest";
            if (step.step() == HandoffStep.ACTIVATE) {
                store.inJob(jobId, j -> {
                    if (!j.status().isTerminal()) {
                        j.touch(store.clock().instant());
                        store.note(j, JobEvent.Kind.HANDOFF, why, actor);
                    }
                });
            } else {
                store.inJob(jobId, j -> {
                    if (j.status() == JobStatus.ACTIVE) {   // a paused job is moved on by its source's recovery only
                        store.transition(j, JobStatus.POSTCOPY_ACTIVE, why + "; post-copy fetches the rest of its memory",
                                actor);
                    }
                });
            }
        }
        return grant(result, store.get(jobId));
    }

    /** The ownership records of the job's guest's disks as they are now. */
    public OwnershipGrant ownershipOf(UUID jobId) {
        MigrationJob job = store.get(jobId);
        return grant(guests.disksOf(job.guestId()).stream()
                .map(d -> ownership.find(d.id()).orElseThrow()).toList(), job);
    }

    private static OwnershipGrant grant(List<DiskOwnership> disks, MigrationJob job) {
        return new OwnershipGrant(disks.stream().map(d -> new OwnershipGrant.Disk(d.diskId(), d.ownerHostId(),
                d.state(), d.generation())).toList(), job.status().apiName());
    }

}
