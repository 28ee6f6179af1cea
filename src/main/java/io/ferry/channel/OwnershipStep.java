package io.ferry.channel;

import java.util.List;

/**
 * Worker → control plane: one compare-and-set step of a disk hand-off for a job, over all the
 * guest's disks at once. {@code disks} carry the generation each disk had when the job started
 * (ACTIVE on the source); the control plane derives what it must find from the step:
 *
 * <ul>
 *   <li>{@link #HANDOFF} (source, after flushing and inactivating): ACTIVE@source g → HANDOFF g+1;
 *   <li>{@link #ACTIVATE} (destination, stream complete): HANDOFF g+1 → ACTIVE@destination g+2, and
 *       the guest is recorded on the destination in the same transaction;
 *   <li>{@link #ACTIVATE_POSTCOPY}: the same, made at post-copy's RUN: the guest runs on the
 *       destination from then on, but the job goes on until every page has arrived;
 *   <li>{@link #REACTIVATE} (source failing back): HANDOFF g+1 → ACTIVE@source g+2, or, if the
 *       hand-off was never recorded, ACTIVE@source g → ACTIVE@source g+1.
 * </ul>
 * Every step is idempotent for its job, so a retry after a lost answer gets the same grant.
 * A refusal (409) means another step won: the caller must not write.
 */
public record OwnershipStep(String step, String hostId, List<DiskGeneration> disks) {

    public static final String HANDOFF = "handoff";
    public static final String ACTIVATE = "activate";
    public static final String REACTIVATE = "reactivate";
    public static final String ACTIVATE_POSTCOPY = "activate-postcopy";

    /** Either kind of activation: the destination's step. */
    public static boolean activates(String step) {
        return ACTIVATE.equals(step) || ACTIVATE_POSTCOPY.equals(step);
    }
}
