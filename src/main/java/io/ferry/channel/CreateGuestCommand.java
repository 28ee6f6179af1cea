package io.ferry.channel;

import java.util.List;
import java.util.UUID;

/** Control plane → worker: bring a guest into being on this host and start its workload. */
public record CreateGuestCommand(UUID guestId, List<RamBlockLayout> ramBlocks, List<DiskLayout> disks,
                                 int deviceStateBytes, WorkloadSettings workload) {
}
