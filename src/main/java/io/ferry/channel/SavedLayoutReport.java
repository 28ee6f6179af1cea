package io.ferry.channel;

import java.util.List;

/**
 * Worker → control plane: the guest a file holds, as a restore would build it: its RAM blocks,
 * disks under the ids they were saved with, and device-state size.
 */
public record SavedLayoutReport(String restoreFrom, List<RamBlockLayout> ramBlocks, List<SavedDisk> disks,
                                int deviceStateBytes) {

    /** A disk in the file, under the id it was saved with. */
    public record SavedDisk(String savedDiskId, String name, long sizeBytes) {
    }
}
