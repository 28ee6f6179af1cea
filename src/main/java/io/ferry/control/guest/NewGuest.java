package io.ferry.control.guest;

import io.ferry.channel.GuestRuntime;
import java.util.List;
import java.util.Map;

/**
 * A validated request for a guest: where it runs, what runs it, its RAM layout, disks, device
 * state and workload (the last two synthetic guests' only; a QEMU guest has them at zero).
 */
public record NewGuest(String name, String hostId, List<RamBlock> ramBlocks, List<NewDisk> disks,
                       int deviceStateBytes, Workload workload, Map<String, String> labels, GuestRuntime runtime) {

    public NewGuest(String name, String hostId, List<RamBlock> ramBlocks, List<NewDisk> disks, int deviceStateBytes,
                    Workload workload) {
        this(name, hostId, ramBlocks, disks, deviceStateBytes, workload, Map.of());
    }

    /** A synthetic guest. */
    public NewGuest(String name, String hostId, List<RamBlock> ramBlocks, List<NewDisk> disks, int deviceStateBytes,
                    Workload workload, Map<String, String> labels) {
        this(name, hostId, ramBlocks, disks, deviceStateBytes, workload, labels, GuestRuntime.SYNTHETIC);
    }

    public record NewDisk(String name, long sizeBytes) {
    }

    public long memoryBytes() {
        return ramBlocks.stream().mapToLong(RamBlock::sizeBytes).sum();
    }
}
