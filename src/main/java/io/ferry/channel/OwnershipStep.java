package io.ferry.channel;

import java.util.List;

/**
 * Worker → control plane: one compare-and-set step of a disk hand-off for a job, over all the
 * guest's disks at once. {@code disks} carry the generation each disk had when the job started
 * (ACTIVE on the source); the control plane derives what it must find from the step:
 *
 * <ul>
 *   <li>{@link HandoffStep#HANDOFF} (source, after flushing and inactivating): ACTIVE@source g → HANDOFF g+1;
 *   <li>{@link HandoffStep#ACTIVATE} (destination, stream complete): HANDOFF g+1 → ACTIVE@destination g+2, and
 *       the guest is recorded on the destination in the same transaction;
 *   <li>{@link HandoffStep#ACTIVATE_POSTCOPY}: the same, made at post-copy's RUN: the guest runs on the
 *       destination from then on, but the job goes on until every page has arrived;
 *   <li>{@link HandoffStep#REACTIVATE} (source failing back): HANDOFF g+1 → ACTIVE@source g+2, or, if the
 *       hand-off was never recorded, ACTIVE@source g → ACTIVE@source g+1.
 * </ul>
 * Every step is idempotent for its job, so a retry after a lost answer gets the same grant.
 * A refusal (409) means another step won: the caller must not write.
 */
public record OwnershipStep(HandoffStep step, String hostId, List<DiskGeneration> disks) {
}
