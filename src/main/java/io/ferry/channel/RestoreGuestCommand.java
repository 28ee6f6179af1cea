package io.ferry.channel;

import java.util.List;
import java.util.UUID;

/**
 * Control plane → worker: bring guest {@code guestId} into being from the file {@code restoreFrom}
 * (relative to the worker's datastore), paused, each saved disk as a new image under the id
 * {@code disks} gives it, active at its generation. All or nothing: a refused file leaves no
 * guest and no image.
 */
public record RestoreGuestCommand(UUID guestId, String restoreFrom, List<RestoredDisk> disks,
                                  WorkloadSettings workload) {

    /** The new id (and ownership generation) of the disk saved as {@code savedDiskId}. */
    public record RestoredDisk(String savedDiskId, UUID diskId, long generation) {
    }
}
