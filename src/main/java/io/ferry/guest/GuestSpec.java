package io.ferry.guest;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Everything needed to create a synthetic guest, on the source or (with the same spec) on the
 * destination of a migration. Invalid specs fail with an {@link IllegalArgumentException} whose
 * message starts with the offending field.
 *
 * @param guestId 1..64 of {@code [A-Za-z0-9._-]}, starting with a letter or digit; it names
 *     the workload thread
 * @param ramBlocks at least one, names unique, 16 MiB..64 GiB in total
 * @param disks possibly none, ids unique
 * @param deviceStateBytes size of the device-state blob, 1 byte..1 MiB
 * @param workload what the guest does while running
 */
public record GuestSpec(String guestId, List<RamBlockSpec> ramBlocks, List<DiskSpec> disks,
                        int deviceStateBytes, WorkloadSpec workload) {

    static final long MIN_MEMORY_BYTES = 16L << 20;
    static final long MAX_MEMORY_BYTES = 64L << 30;
    static final int MAX_DEVICE_STATE_BYTES = 1 << 20;
    private static final Pattern ID = DiskSpec.ID;

    public GuestSpec {
        require(guestId != null && ID.matcher(guestId).matches(),
                "guestId must match " + ID.pattern() + ", was " + quoted(guestId));
        require(ramBlocks != null && !ramBlocks.isEmpty(), "ramBlocks must hold at least one block");
        require(ramBlocks.stream().allMatch(Objects::nonNull), "ramBlocks must not contain null");
        ramBlocks = List.copyOf(ramBlocks);
        require(disks != null, "disks must not be null (use an empty list)");
        require(disks.stream().allMatch(Objects::nonNull), "disks must not contain null");
        disks = List.copyOf(disks);
        require(deviceStateBytes >= 1 && deviceStateBytes <= MAX_DEVICE_STATE_BYTES,
                "deviceStateBytes must be 1.." + MAX_DEVICE_STATE_BYTES + ", was " + deviceStateBytes);
        require(workload != null, "workload must not be null (use WorkloadSpec.idle())");

        Set<String> names = new HashSet<>();
        long total = 0;
        for (RamBlockSpec block : ramBlocks) {
            require(names.add(block.name()), "ramBlocks: duplicate block name '" + block.name() + "'");
            // Saturating sum: absurd block sizes must fail validation, not overflow past it.
            total = Math.min(MAX_MEMORY_BYTES + 1, total + Math.min(block.sizeBytes(), MAX_MEMORY_BYTES + 1));
        }
        require(total >= MIN_MEMORY_BYTES && total <= MAX_MEMORY_BYTES,
                "ramBlocks: total memory must be 16 MiB..64 GiB, was "
                        + (total > MAX_MEMORY_BYTES ? "more than 64 GiB" : total + " bytes"));
        Set<String> diskIds = new HashSet<>();
        for (DiskSpec disk : disks) {
            require(diskIds.add(disk.diskId()), "disks: duplicate disk id '" + disk.diskId() + "'");
        }
    }

    public long memoryBytes() {
        return ramBlocks.stream().mapToLong(RamBlockSpec::sizeBytes).sum();
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    private static String quoted(String s) {
        return s == null ? "null" : "'" + s + "'";
    }
}
