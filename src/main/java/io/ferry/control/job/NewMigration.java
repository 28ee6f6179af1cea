package io.ferry.control.job;

import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A validated request to move a guest: to a named destination, or (null) to wherever placement
 * chooses (never one of {@code avoidHosts}, e.g. where a drain's earlier try failed). What
 * it leaves out of {@code requested} comes from the matching policy, then defaults. The
 * destination must carry the labels of {@code destinationSelector} and of the policy's.
 */
public record NewMigration(UUID guestId, String destinationHostId, RequestedParameters requested, UUID drainId,
                           Set<String> avoidHosts, Map<String, String> destinationSelector) {

    public NewMigration(UUID guestId, String destinationHostId, RequestedParameters requested) {
        this(guestId, destinationHostId, requested, null, Set.of(), Map.of());
    }
}
