package io.ferry.channel;

import java.util.List;
import java.util.UUID;

/**
 * Control plane → worker: the ownership records of a job's disks, as a granted step left them
 * (or as they are, for a read), and the job's status then (so a worker that lost its peer can
 * tell whether the job ended).
 */
public record OwnershipGrant(List<Disk> disks, String jobStatus) {

    public record Disk(UUID diskId, String ownerHostId, OwnershipState state, long generation) {
    }
}
