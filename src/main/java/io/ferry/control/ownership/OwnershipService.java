package io.ferry.control.ownership;

import io.ferry.channel.OwnershipState;
import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * The only writer of disk ownership. Every step is a compare-and-set taken before any worker
 * acts on it: the caller names the generation each disk had when its job started (ACTIVE on the
 * source, {@code g}), the step says what it must find, and the row's version column guards
 * concurrent writers. A step covers all of a guest's disks in one transaction: all move or none.
 *
 * <pre>
 *   ACTIVE@src g --handOff--> HANDOFF g+1 --activate----> ACTIVE@dst g+2
 *        |                        \--reactivate--> ACTIVE@src g+2
 *        \--reactivate (hand-off never recorded)--> ACTIVE@src g+1
 * </pre>
 *
 * Exactly one of activate and reactivate can win a hand-off, so exactly one host may write. A
 * step is idempotent for its job (a worker retrying after a lost answer gets the same grant);
 * anything else that does not match is refused with {@link OwnershipConflictException}.
 */
@Service
public class OwnershipService {

    private static final Logger log = LoggerFactory.getLogger(OwnershipService.class);

    private final DiskOwnershipRepository ownership;
    private final OwnershipRecordRepository history;
    private final Clock clock;
    private final EventRecorder recorder;

    OwnershipService(DiskOwnershipRepository ownership, OwnershipRecordRepository history, Clock clock,
                     EventRecorder recorder) {
        this.recorder = recorder;
        this.ownership = ownership;
        this.history = history;
        this.clock = clock;
    }

    /** A new disk is ACTIVE on the host that created it, generation 1. */
    @Transactional
    public DiskOwnership establish(UUID diskId, String hostId, String actor) {
        DiskOwnership created = ownership.save(new DiskOwnership(diskId, hostId, clock.instant()));
        history.save(new OwnershipRecord(created, null, null, null, "disk created on " + hostId, actor));
        recorder.record(new Payloads.OwnershipChanged(diskId, null, hostId, created.state().apiName(),
                created.generation(), null, null), created.updatedAt());
        return created;
    }

    /**
     * Job start: every disk must be ACTIVE on {@code source}. Returns the generations the job's
     * steps will build on; the destination may then open the images, inactive.
     */
    @Transactional(readOnly = true)
    public Map<UUID, Long> expectActive(List<UUID> diskIds, String source) {
        Map<UUID, Long> generations = new java.util.LinkedHashMap<>();
        for (UUID diskId : diskIds) {
            DiskOwnership current = load(diskId);
            if (current.state() != OwnershipState.ACTIVE || !current.ownerHostId().equals(source)) {
                throw new OwnershipConflictException(diskId, "is " + current.state().apiName() + " on "
                        + current.ownerHostId() + " at generation " + current.generation() + ", not active on "
                        + source);
            }
            generations.put(diskId, current.generation());
        }
        return generations;
    }

    /** Source flushed and inactivated its images: nobody may write them until the hand-off ends. */
    @Transactional
    public List<DiskOwnership> handOff(UUID jobId, String source, Map<UUID, Long> base, String actor) {
        List<DiskOwnership> result = new ArrayList<>();
        for (Map.Entry<UUID, Long> disk : base.entrySet()) {
            DiskOwnership current = load(disk.getKey());
            long g = disk.getValue();
            if (is(current, OwnershipState.HANDOFF, source, g + 1) && lastStepBy(current, jobId)) {
                result.add(current);   // a retry
                continue;
            }
            expect(current, OwnershipState.ACTIVE, source, g, "hand-off");
            result.add(advance(current, source, OwnershipState.HANDOFF, jobId,
                    "job " + jobId + ": source " + source + " flushed and inactivated the image", actor));
        }
        return result;
    }

    /** The destination has the whole guest and asks to write: it becomes the only owner. */
    @Transactional
    public List<DiskOwnership> activate(UUID jobId, String destination, Map<UUID, Long> base, String actor) {
        List<DiskOwnership> result = new ArrayList<>();
        for (Map.Entry<UUID, Long> disk : base.entrySet()) {
            DiskOwnership current = load(disk.getKey());
            long g = disk.getValue();
            if (is(current, OwnershipState.ACTIVE, destination, g + 2) && lastStepBy(current, jobId)) {
                result.add(current);
                continue;
            }
            if (current.state() != OwnershipState.HANDOFF || current.generation() != g + 1) {
                throw new OwnershipConflictException(disk.getKey(), "cannot activate on " + destination
                        + ": expected handoff at generation " + (g + 1) + " but it is " + describe(current));
            }
            result.add(advance(current, destination, OwnershipState.ACTIVE, jobId,
                    "job " + jobId + ": destination " + destination + " activated the image", actor));
        }
        return result;
    }

    /**
     * The hand-off did not happen: the source takes its images back — from HANDOFF, or from its
     * own ACTIVE record when the hand-off was never recorded (it cannot know which).
     */
    @Transactional
    public List<DiskOwnership> reactivate(UUID jobId, String source, Map<UUID, Long> base, String reason,
                                          String actor) {
        List<DiskOwnership> result = new ArrayList<>();
        for (Map.Entry<UUID, Long> disk : base.entrySet()) {
            DiskOwnership current = load(disk.getKey());
            long g = disk.getValue();
            if (current.state() == OwnershipState.ACTIVE && current.ownerHostId().equals(source)
                    && current.generation() > g && lastStepBy(current, jobId)) {
                result.add(current);
                continue;
            }
            boolean handoff = is(current, OwnershipState.HANDOFF, source, g + 1);
            if (!handoff && !is(current, OwnershipState.ACTIVE, source, g)) {
                throw new OwnershipConflictException(disk.getKey(), "cannot re-activate on " + source
                        + ": it is " + describe(current));
            }
            result.add(advance(current, source, OwnershipState.ACTIVE, jobId,
                    "job " + jobId + ": source " + source + " re-activated the image (" + reason + ")", actor));
        }
        return result;
    }

    /**
     * An operator ended a stranded post-copy (its other side's worker is gone) and keeps the
     * guest on {@code keepHost}: each disk becomes ACTIVE there at the next generation, whatever
     * step the job had reached, so the lost side's fence is stale. Idempotent for the job.
     */
    @Transactional
    public List<DiskOwnership> abandon(UUID jobId, String keepHost, List<UUID> diskIds, String reason,
                                       String actor) {
        List<DiskOwnership> result = new ArrayList<>();
        for (UUID diskId : diskIds) {
            DiskOwnership current = load(diskId);
            OwnershipRecord last = history.findFirstByDiskIdOrderByGenerationDesc(diskId);
            if (current.state() == OwnershipState.ACTIVE && current.ownerHostId().equals(keepHost) && last != null
                    && jobId.equals(last.jobId()) && last.reason().startsWith("abandoned")) {
                result.add(current);
                continue;
            }
            result.add(advance(current, keepHost, OwnershipState.ACTIVE, jobId, "abandoned: job " + jobId
                    + " keeps the guest on " + keepHost + " (" + reason + ")", actor));
        }
        return result;
    }

    /** Disks whose last step was this job's hand-off and that nobody activated since. */
    @Transactional(readOnly = true)
    public List<DiskOwnership> inHandoffBy(UUID jobId, List<UUID> diskIds) {
        return diskIds.stream().map(this::load)
                .filter(d -> d.state() == OwnershipState.HANDOFF && lastStepBy(d, jobId)).toList();
    }

    @Transactional(readOnly = true)
    public Optional<DiskOwnership> find(UUID diskId) {
        return ownership.findById(diskId);
    }

    @Transactional(readOnly = true)
    public List<OwnershipRecord> history(UUID diskId) {
        return history.findByDiskIdOrderByGenerationAsc(diskId);
    }

    private DiskOwnership load(UUID diskId) {
        return ownership.findById(diskId)
                .orElseThrow(() -> new OwnershipConflictException(diskId, "has no ownership record"));
    }

    private boolean lastStepBy(DiskOwnership current, UUID jobId) {
        OwnershipRecord last = history.findFirstByDiskIdOrderByGenerationDesc(current.diskId());
        return last != null && jobId.equals(last.jobId()) && last.generation() == current.generation();
    }

    private static boolean is(DiskOwnership d, OwnershipState state, String owner, long generation) {
        return d.state() == state && d.ownerHostId().equals(owner) && d.generation() == generation;
    }

    private static void expect(DiskOwnership current, OwnershipState state, String owner, long generation,
                               String step) {
        if (!is(current, state, owner, generation)) {
            throw new OwnershipConflictException(current.diskId(), step + " expected " + state.apiName() + " on "
                    + owner + " at generation " + generation + " but it is " + describe(current));
        }
    }

    private static String describe(DiskOwnership d) {
        return d.state().apiName() + " on " + d.ownerHostId() + " at generation " + d.generation();
    }

    private DiskOwnership advance(DiskOwnership current, String owner, OwnershipState state, UUID jobId,
                                  String reason, String actor) {
        String fromOwner = current.ownerHostId();
        OwnershipState fromState = current.state();
        current.advance(owner, state, clock.instant());
        // saveAndFlush: the version check runs now, inside this transaction, not at some later flush.
        DiskOwnership saved = ownership.saveAndFlush(current);
        history.save(new OwnershipRecord(saved, fromOwner, fromState, jobId, reason, actor));
        recorder.record(new Payloads.OwnershipChanged(saved.diskId(), jobId, owner, state.apiName(), saved.generation(),
                fromOwner, fromState.apiName()), saved.updatedAt());
        log.info("disk {} ownership: {} on {} -> {} on {} at generation {} ({})", saved.diskId(),
                fromState.apiName(), fromOwner, state.apiName(), owner, saved.generation(), reason);
        return saved;
    }
}
