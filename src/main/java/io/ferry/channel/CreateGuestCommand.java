package io.ferry.channel;

import java.util.List;
import java.util.UUID;

/**
 * Control plane → worker: bring a guest into being on this host and start it. {@code runtime}
 * null means synthetic (a control plane from before runtimes); a QEMU guest's memory is its one
 * RAM block, and it has no workload or device-state blob of Ferry's making.
 */
public record CreateGuestCommand(UUID guestId, List<RamBlockLayout> ramBlocks, List<DiskLayout> disks,
                                 int deviceStateBytes, WorkloadSettings workload, GuestRuntime runtime) {

    public CreateGuestCommand {
        runtime = runtime == null ? GuestRuntime.SYNTHETIC : runtime;
    }

    /** A synthetic guest. */
    public CreateGuestCommand(UUID guestId, List<RamBlockLayout> ramBlocks, List<DiskLayout> disks,
                              int deviceStateBytes, WorkloadSettings workload) {
        this(guestId, ramBlocks, disks, deviceStateBytes, workload, GuestRuntime.SYNTHETIC);
    }
}
