package io.ferry.guest;

import io.netty.util.internal.PlatformDependent;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A guest's RAM: its blocks, off-heap and outside the Java heap, zero-filled on creation and
 * committed by the OS only as pages are first written.
 *
 * <p>How: every block is malloc'ed ({@code Unsafe.allocateMemory} via Netty's PlatformDependent)
 * in chunks of at most 1 GiB. glibc serves any request above 32 MiB (its largest dynamic mmap
 * threshold) with a fresh anonymous mmap, which the kernel hands out zero-filled and backs with
 * real pages only on first write, while reads of untouched pages map the shared zero page. So a
 * 64 GiB guest costs address space, not RAM. Chunks below {@link #EXPLICIT_ZERO_BELOW} might come
 * from recycled heap memory, so those are zeroed by hand, which is cheap at that size. Reserving
 * more than RAM relies on the kernel's default overcommit heuristic ({@code vm.overcommit_memory=0}),
 * which checks each mapping on its own.
 *
 * <p>{@link #close()} frees everything; views handed out earlier must not be used after it.
 */
public final class GuestMemory implements AutoCloseable {

    public static final int PAGE_SIZE = RamBlock.PAGE_SIZE;
    static final long EXPLICIT_ZERO_BELOW = 64L << 20;

    private final List<RamBlock> blocks;
    private final Map<String, RamBlock> blocksByName;
    private final List<long[]> allocations = new ArrayList<>();
    /** Every chunk, in block order: what a pre-fault commits. Guarded by allocations. */
    private final List<MemoryPrefault.Range> ranges = new ArrayList<>();
    /** Guarded by allocations; null unless {@link #prefaultInBackground} started one. */
    private MemoryPrefault prefault;
    private volatile boolean closed;

    private GuestMemory(List<RamBlockSpec> specs) {
        List<RamBlock> built = new ArrayList<>(specs.size());
        Map<String, RamBlock> byName = new LinkedHashMap<>();
        try {
            for (RamBlockSpec spec : specs) {
                RamBlock block = new RamBlock(this, spec, allocate(spec.sizeBytes()));
                if (byName.putIfAbsent(spec.name(), block) != null) {
                    throw new IllegalArgumentException("ramBlocks: duplicate block name '" + spec.name() + "'");
                }
                built.add(block);
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        this.blocks = List.copyOf(built);
        this.blocksByName = Collections.unmodifiableMap(byName);
    }

    /** Reserves memory for the given blocks, in order. Fails with OutOfMemoryError if the OS refuses. */
    public static GuestMemory allocate(List<RamBlockSpec> blocks) {
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("ramBlocks must hold at least one block");
        }
        return new GuestMemory(List.copyOf(blocks));
    }

    public List<RamBlock> blocks() {
        return blocks;
    }

    public Optional<RamBlock> findBlock(String name) {
        return Optional.ofNullable(blocksByName.get(name));
    }

    public RamBlock block(String name) {
        return findBlock(name).orElseThrow(() -> new IllegalArgumentException("no RAM block named '" + name + "'"));
    }

    public long totalBytes() {
        return blocks.stream().mapToLong(RamBlock::sizeBytes).sum();
    }

    public long totalPages() {
        return totalBytes() / PAGE_SIZE;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Starts committing this memory in the background, front first, so pages that arrive later
     * land in memory that is ready (see {@link MemoryPrefault}); for an incoming guest. Nothing
     * happens when the host cannot spare the memory, or on a second call.
     */
    public void prefaultInBackground(String name) {
        synchronized (allocations) {
            if (!closed && prefault == null) {
                prefault = MemoryPrefault.start(List.copyOf(ranges), name);
            }
        }
    }

    /**
     * Completes, with the bytes committed, once the background pre-fault is over (whole, or
     * stopped by a close or a kernel that cannot); at once with 0 when none runs.
     */
    public java.util.concurrent.CompletableFuture<Long> prefaultDone() {
        synchronized (allocations) {
            return prefault == null ? java.util.concurrent.CompletableFuture.completedFuture(0L) : prefault.done();
        }
    }

    /** Bytes the background pre-fault has committed so far (0 without one). */
    public long prefaultedBytes() {
        synchronized (allocations) {
            return prefault == null ? 0 : prefault.committedBytes();
        }
    }

    /** Frees all blocks. Idempotent. */
    @Override
    public void close() {
        synchronized (allocations) {
            if (closed) {
                return;
            }
            closed = true;
            if (prefault != null) {
                prefault.close();   // its threads finish the piece they advise before anything is freed
            }
            for (long[] chunks : allocations) {
                for (long address : chunks) {
                    if (address != 0) {
                        PlatformDependent.freeMemory(address);
                    }
                }
            }
            allocations.clear();
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("guest memory is closed");
        }
    }

    // Registers each chunk before allocating the next, so a failure part-way frees what was taken.
    private long[] allocate(long sizeBytes) {
        int chunkCount = (int) ((sizeBytes + RamBlock.CHUNK_BYTES - 1) >>> RamBlock.CHUNK_SHIFT);
        long[] chunks = new long[chunkCount];
        synchronized (allocations) {
            allocations.add(chunks);
        }
        for (int i = 0; i < chunkCount; i++) {
            long chunkBytes = Math.min(RamBlock.CHUNK_BYTES, sizeBytes - ((long) i << RamBlock.CHUNK_SHIFT));
            long address = PlatformDependent.allocateMemory(chunkBytes);
            chunks[i] = address;
            synchronized (allocations) {
                ranges.add(new MemoryPrefault.Range(address, chunkBytes));
            }
            if (chunkBytes < EXPLICIT_ZERO_BELOW) {
                PlatformDependent.setMemory(address, chunkBytes, (byte) 0);
            } else {
                MemoryAdvice.hugePages(address, chunkBytes);
            }
        }
        return chunks;
    }

    @Override
    public String toString() {
        return "GuestMemory[" + blocks + (closed ? ", closed" : "") + "]";
    }
}
