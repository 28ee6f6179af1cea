package io.ferry.control.guest;

import io.ferry.control.system.InvalidFieldException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What a new synthetic guest may look like, and what it gets when the request leaves a part out:
 * the one copy of these rules, used by the REST API ({@code POST /guests}) and the console's
 * create form alike. A refusal names the field as the API spells it.
 */
public final class GuestLayout {

    public static final long PAGE = 4096;
    public static final long MIN_MEMORY = 16L << 20;
    public static final long MAX_MEMORY = 64L << 30;
    public static final long MAX_DISK = 1L << 40;
    /** The default layout keeps a small video-RAM block beside pc.ram, as QEMU's PC machines do. */
    public static final long DEFAULT_VRAM_BYTES = 8L << 20;
    /** Device state of a small PC-like machine when the request names none. */
    public static final int DEFAULT_DEVICE_STATE_BYTES = 64 * 1024;
    public static final long MAX_DIRTY_PAGES_PER_SECOND = 10_000_000;
    public static final long MAX_DISK_WRITES_PER_SECOND = 1_000_000;

    private GuestLayout() {
    }

    /**
     * The guest's RAM blocks: the requested ones, or pc.ram and an 8 MiB vga.vram when none are
     * named; each a multiple of a page, names unique, adding up to the memory.
     */
    public static List<RamBlock> ramBlocks(long memoryBytes, List<RamBlock> requested) {
        if (memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
            throw new InvalidFieldException("memoryBytes", "must be between 16 MiB and 64 GiB");
        }
        if (memoryBytes % PAGE != 0) {
            throw new InvalidFieldException("memoryBytes", "must be a multiple of 4096");
        }
        List<RamBlock> blocks = requested == null
                ? List.of(new RamBlock("pc.ram", memoryBytes - DEFAULT_VRAM_BYTES),
                        new RamBlock("vga.vram", DEFAULT_VRAM_BYTES))
                : List.copyOf(requested);
        if (blocks.isEmpty()) {
            throw new InvalidFieldException("ramBlocks", "name at least one block, or leave them out for the default");
        }
        for (int i = 0; i < blocks.size(); i++) {
            if (blocks.get(i).sizeBytes() < PAGE || blocks.get(i).sizeBytes() % PAGE != 0) {
                throw new InvalidFieldException("ramBlocks[" + i + "].sizeBytes", "must be a multiple of 4096");
            }
        }
        if (blocks.stream().map(RamBlock::name).distinct().count() != blocks.size()) {
            throw new InvalidFieldException("ramBlocks", "RAM block names must be unique");
        }
        long sum = blocks.stream().mapToLong(RamBlock::sizeBytes).sum();
        if (sum != memoryBytes) {
            throw new InvalidFieldException("ramBlocks",
                    "block sizes add up to " + sum + " bytes but memoryBytes is " + memoryBytes);
        }
        return blocks;
    }

    /** The guest's disks (none when null): names unique, sizes a multiple of a page, at most 1 TiB. */
    public static List<NewGuest.NewDisk> disks(List<NewGuest.NewDisk> requested) {
        List<NewGuest.NewDisk> disks = requested == null ? List.of() : List.copyOf(requested);
        if (disks.stream().map(NewGuest.NewDisk::name).distinct().count() != disks.size()) {
            throw new InvalidFieldException("disks", "disk names must be unique within a guest");
        }
        for (int i = 0; i < disks.size(); i++) {
            long size = disks.get(i).sizeBytes();
            if (size % PAGE != 0) {
                throw new InvalidFieldException("disks[" + i + "].sizeBytes", "must be a multiple of 4096");
            }
            if (size < PAGE || size > MAX_DISK) {
                throw new InvalidFieldException("disks[" + i + "].sizeBytes", "must be between 4 KiB and 1 TiB");
            }
        }
        return disks;
    }

    /**
     * The synthetic workload; a part left out means: no page dirtying, the whole memory as the
     * hot set, no disk writes, a random seed.
     */
    public static Workload workload(Long dirtyPagesPerSecond, Double hotSetFraction, Long diskWritesPerSecond,
                                    Long seed) {
        long dirty = dirtyPagesPerSecond == null ? 0 : dirtyPagesPerSecond;
        double hot = hotSetFraction == null ? 1.0 : hotSetFraction;
        long writes = diskWritesPerSecond == null ? 0 : diskWritesPerSecond;
        if (dirty < 0 || dirty > MAX_DIRTY_PAGES_PER_SECOND) {
            throw new InvalidFieldException("workload.dirtyPagesPerSecond", "must be between 0 and 10000000");
        }
        if (!(hot > 0 && hot <= 1)) {
            throw new InvalidFieldException("workload.hotSetFraction", "must be more than 0 and at most 1");
        }
        if (writes < 0 || writes > MAX_DISK_WRITES_PER_SECOND) {
            throw new InvalidFieldException("workload.diskWritesPerSecond", "must be between 0 and 1000000");
        }
        return new Workload(dirty, hot, writes, seed == null ? ThreadLocalRandom.current().nextLong() : seed);
    }

    /** A new synthetic guest from its parts, each checked and defaulted as above. */
    public static NewGuest newGuest(String name, String hostId, long memoryBytes, List<RamBlock> ramBlocks,
                                    List<NewGuest.NewDisk> disks, Integer deviceStateBytes, Workload workload,
                                    java.util.Map<String, String> labels) {
        return new NewGuest(name, hostId, ramBlocks(memoryBytes, ramBlocks), disks(disks),
                deviceStateBytes == null ? DEFAULT_DEVICE_STATE_BYTES : deviceStateBytes, workload, labels);
    }

    /**
     * A new QEMU guest: a pc machine whose memory (whole MiB, QEMU's unit) is its one RAM block,
     * {@code pc.ram}. The RAM layout, device-state size and workload are a synthetic guest's and
     * are refused when given; the guest records them as that one block, 0 and no workload.
     */
    public static NewGuest newQemuGuest(String name, String hostId, long memoryBytes, boolean ramBlocksGiven,
                                        List<NewGuest.NewDisk> disks, boolean deviceStateGiven, boolean workloadGiven,
                                        java.util.Map<String, String> labels) {
        if (ramBlocksGiven) {
            throw new InvalidFieldException("ramBlocks", "a qemu guest's memory is one block, pc.ram: leave ramBlocks out");
        }
        if (deviceStateGiven) {
            throw new InvalidFieldException("deviceStateBytes", "applies to synthetic guests only: leave it out");
        }
        if (workloadGiven) {
            throw new InvalidFieldException("workload", "applies to synthetic guests only: leave it out");
        }
        if (memoryBytes % QEMU_MEMORY_UNIT != 0) {
            throw new InvalidFieldException("memoryBytes", "of a qemu guest must be whole MiB (a multiple of 1048576)");
        }
        return new NewGuest(name, hostId, ramBlocks(memoryBytes, List.of(new RamBlock("pc.ram", memoryBytes))),
                disks(disks), 0, new Workload(0, 1.0, 0, 0), labels, io.ferry.channel.GuestRuntime.QEMU);
    }

    /** QEMU sizes memory in MiB. */
    public static final long QEMU_MEMORY_UNIT = 1L << 20;
}
