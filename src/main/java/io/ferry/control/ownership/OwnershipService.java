package io.ferry.control.ownership;

import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * The only writer of disk ownership. Every step is a compare-and-set: the caller names the
 * generation it believes current, the row's version column guards concurrent writers, and
 * a mismatch is refused rather than repaired.
 *
 * <pre>
 *   ACTIVE@src (g) --beginHandoff--> HANDOFF (g+1) --completeHandoff--> ACTIVE@dst (g+2)
 *                                        \--abortHandoff-----------> ACTIVE@src (g+2)
 * </pre>
 */
@Service
public class OwnershipService {

    private static final Logger log = LoggerFactory.getLogger(OwnershipService.class);

    private final DiskOwnershipRepository ownership;
    private final OwnershipRecordRepository history;
    private final Clock clock;

    OwnershipService(DiskOwnershipRepository ownership, OwnershipRecordRepository history, Clock clock) {
        this.ownership = ownership;
        this.history = history;
        this.clock = clock;
    }

    /** A new disk is ACTIVE on the host that created it, generation 1. */
    @Transactional
    public DiskOwnership establish(UUID diskId, String hostId, String actor) {
        DiskOwnership created = ownership.save(new DiskOwnership(diskId, hostId, clock.instant()));
        history.save(new OwnershipRecord(created, "disk created on " + hostId, actor));
        return created;
    }

    /** Source flushed and inactivated the image: nobody may write it until the hand-off ends. */
    @Transactional
    public DiskOwnership beginHandoff(UUID diskId, String fromHost, long expectedGeneration, String reason,
                                      String actor) {
        DiskOwnership current = expect(diskId, expectedGeneration, OwnershipState.ACTIVE, fromHost);
        return advance(current, fromHost, OwnershipState.HANDOFF, reason, actor);
    }

    /** The destination activates the image and becomes its only writer. */
    @Transactional
    public DiskOwnership completeHandoff(UUID diskId, String toHost, long expectedGeneration, String reason,
                                         String actor) {
        DiskOwnership current = expect(diskId, expectedGeneration, OwnershipState.HANDOFF, null);
        return advance(current, toHost, OwnershipState.ACTIVE, reason, actor);
    }

    /** The hand-off did not happen: the previous owner re-activates the image. */
    @Transactional
    public DiskOwnership abortHandoff(UUID diskId, long expectedGeneration, String reason, String actor) {
        DiskOwnership current = expect(diskId, expectedGeneration, OwnershipState.HANDOFF, null);
        return advance(current, current.ownerHostId(), OwnershipState.ACTIVE, reason, actor);
    }

    @Transactional(readOnly = true)
    public Optional<DiskOwnership> find(UUID diskId) {
        return ownership.findById(diskId);
    }

    @Transactional(readOnly = true)
    public List<OwnershipRecord> history(UUID diskId) {
        return history.findByDiskIdOrderByGenerationAsc(diskId);
    }

    private DiskOwnership expect(UUID diskId, long generation, OwnershipState state, String owner) {
        DiskOwnership current = ownership.findById(diskId)
                .orElseThrow(() -> new OwnershipConflictException(diskId, "has no ownership record"));
        if (current.generation() != generation) {
            throw new OwnershipConflictException(diskId, "expected generation " + generation + " but it is "
                    + current.generation());
        }
        if (current.state() != state) {
            throw new OwnershipConflictException(diskId, "expected state " + state.apiName() + " but it is "
                    + current.state().apiName());
        }
        if (owner != null && !owner.equals(current.ownerHostId())) {
            throw new OwnershipConflictException(diskId, "is owned by " + current.ownerHostId() + ", not " + owner);
        }
        return current;
    }

    private DiskOwnership advance(DiskOwnership current, String owner, OwnershipState state, String reason,
                                  String actor) {
        current.advance(owner, state, clock.instant());
        // saveAndFlush: the version check runs now, inside this transaction, not at some later flush.
        DiskOwnership saved = ownership.saveAndFlush(current);
        history.save(new OwnershipRecord(saved, reason, actor));
        log.info("disk {} ownership: {} on {} at generation {} ({})", saved.diskId(), state.apiName(), owner,
                saved.generation(), reason);
        return saved;
    }
}
