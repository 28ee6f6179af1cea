package io.ferry.control.guest;

import java.util.List;
import java.util.Map;

/** A validated request for a guest: where it runs, its RAM layout, disks, device state and workload. */
public record NewGuest(String name, String hostId, List<RamBlock> ramBlocks, List<NewDisk> disks,
                       int deviceStateBytes, Workload workload, Map<String, String> labels) {

    public NewGuest(String name, String hostId, List<RamBlock> ramBlocks, List<NewDisk> disks, int deviceStateBytes,
                    Workload workload) {
        this(name, hostId, ramBlocks, disks, deviceStateBytes, workload, Map.of());
    }

    public record NewDisk(String name, long sizeBytes) {
    }

    public long memoryBytes() {
        return ramBlocks.stream().mapToLong(RamBlock::sizeBytes).sum();
    }
}
