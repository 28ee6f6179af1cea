package io.ferry.guest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The synthetic guest's vCPU: one daemon thread, {@code workload-<guestId>}, that writes memory
 * and disk at the spec's rates.
 *
 * <ul>
 *   <li>memory write: a page of the hot set (the first {@code ceil(hotSetFraction × totalPages)}
 *       pages across the blocks in order), {@code bytesPerWrite} random bytes at a random offset
 *       aligned to them (64 unless the spec says),
 *       then the page's bit in its block's dirty log — data first, mark second (see DirtyBitmap);
 *   <li>disk write: write n + 1 of {@link DiskWritePattern} (n = the device state's count of
 *       acknowledged writes), which marks the disk's own dirty log; counted once the image took it.
 *       A write the image's fence refuses is counted as an error and retried next tick: the guest
 *       sees EIO, the image is untouched;
 *   <li>after each tick's writes, the device-state counter goes up by the number of writes.
 * </ul>
 *
 * <p>Rate control is a token bucket refilled from the clock every ~10 ms tick and capped at two
 * ticks' worth, so the long-run rate is exact, a late tick is made up smoothly, and a stall (GC,
 * pause, quiesce) is never repaid in a burst. A {@link CpuThrottle} at p % makes the thread sleep
 * p / (100 - p) of each tick it ran, time that earns no credit: memory and disk writes alike drop
 * to (100 - p) % of the rates. All random choices come from one
 * {@code SplittableRandom(seed)} confined to the thread. With both rates zero (or only disk
 * writes and no disks) no thread is started at all.
 *
 * <p>Stopping is by flags, never interrupts: an interrupt during a FileChannel write would close
 * the disk image for everyone. A workload starts paused.
 */
public final class Workload {

    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final int BURST_TICKS = 2;

    private enum Turn { CONTINUED, RESUMED, CLOSED }

    private final List<RamBlock> blocks;
    private final List<DirtyBitmap> dirtyLogs;
    private final long[] blockFirstPages;
    private final long hotPages;
    private final List<DiskImage> disks;
    private final DeviceState deviceState;
    private final double memoryRate;
    private final int memoryWriteBytes;
    private final double diskRate;
    private final SplittableRandom random; // confined to the workload thread
    private final Thread thread;           // null for an idle workload

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean paused = true;  // guarded by lock
    private int holds;              // guarded by lock: callers inside quiesced()
    private boolean writing;        // guarded by lock: the thread is inside a tick's writes
    private boolean closed;         // guarded by lock
    /** paused || holds > 0 || closed, polled between single writes so a stop need not wait out a tick. */
    private volatile boolean stopRequested = true;

    private volatile long memoryWrites; // written by the workload thread only
    private volatile long diskWrites;   // written by the workload thread only
    private volatile long diskWriteErrors;   // written by the workload thread only
    private volatile InactiveImageException lastDiskWriteError;
    /** Post-copy on the destination: accesses to missing pages fault; null otherwise. */
    private volatile DemandPaging paging;
    /**
     * A dirty-rate measurement's own dirty log, one bitmap per block, marked beside the
     * migration's (QEMU's GLOBAL_DIRTY_DIRTY_RATE: a second client of dirty tracking, so
     * measuring never takes bits a migration needs); null while none runs. Set by compare-and-set.
     */
    private final AtomicReference<List<DirtyBitmap>> rateLogs = new AtomicReference<>();
    /** A page whose access waited for it and was stopped: the next write goes there. Workload thread only. */
    private long pendingPage = -1;
    private final long seed;
    private final long[] diskBlockCounts;
    private volatile Throwable failure;
    /** Auto-converge's throttle on this vCPU; it outlasts pauses and resumes until set to 0. */
    private final CpuThrottle throttle = new CpuThrottle();

    Workload(String guestId, WorkloadSpec spec, GuestMemory memory, List<DirtyBitmap> dirtyLogs,
             List<DiskImage> disks, DeviceState deviceState) {
        this.blocks = memory.blocks();
        this.dirtyLogs = List.copyOf(dirtyLogs);
        if (this.dirtyLogs.size() != blocks.size()) {
            throw new IllegalArgumentException("one dirty log per RAM block needed");
        }
        this.blockFirstPages = new long[blocks.size()];
        long pages = 0;
        for (int i = 0; i < blocks.size(); i++) {
            blockFirstPages[i] = pages;
            pages += blocks.get(i).pageCount();
        }
        this.hotPages = Math.max(1, Math.min(pages, (long) Math.ceil(spec.hotSetFraction() * pages)));
        this.disks = List.copyOf(disks);
        this.deviceState = deviceState;
        this.memoryRate = spec.dirtyPagesPerSecond();
        this.memoryWriteBytes = spec.bytesPerWrite();
        this.diskRate = this.disks.isEmpty() ? 0 : spec.diskWritesPerSecond();
        this.random = new SplittableRandom(spec.seed());
        this.seed = spec.seed();
        this.diskBlockCounts = this.disks.stream().mapToLong(DiskImage::blockCount).toArray();
        if (memoryRate == 0 && diskRate == 0) {
            this.thread = null;
        } else {
            this.thread = new Thread(this::run, "workload-" + guestId);
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Stops writing; returns once no write is in flight. Idempotent. */
    public void pause() {
        lock.lock();
        try {
            paused = true;
            updateStopRequested();
            awaitNoWriteInFlight();
        } finally {
            lock.unlock();
        }
    }

    /** Starts (or restarts) writing at the configured rates. Idempotent. */
    public void resume() {
        lock.lock();
        try {
            paused = false;
            updateStopRequested();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean isPaused() {
        lock.lock();
        try {
            return paused;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code action} while no write happens, then lets the workload go on as it was (paused
     * or not). Nests, and may overlap with other callers.
     */
    public <T> T quiesced(Supplier<T> action) {
        acquireHold();
        try {
            return action.get();
        } finally {
            releaseHold();
        }
    }

    /**
     * Holds the workload still, as {@link #quiesced} does, until the returned hold is closed: for
     * a caller that cannot wrap what it does in one call (a migration forced to complete). Pause
     * and resume do not end it; closing it twice is harmless.
     */
    public Hold hold() {
        acquireHold();
        return new Hold();
    }

    /** One {@link #hold()}; {@link #close()} lets the workload go on as it was (paused or not). */
    public final class Hold implements AutoCloseable {
        private final java.util.concurrent.atomic.AtomicBoolean held = new java.util.concurrent.atomic.AtomicBoolean(true);

        private Hold() {
        }

        @Override
        public void close() {
            if (held.compareAndSet(true, false)) {
                releaseHold();
            }
        }
    }

    /** Returns once no write is in flight and none will start until {@link #releaseHold()}. */
    private void acquireHold() {
        lock.lock();
        try {
            holds++;
            updateStopRequested();
            awaitNoWriteInFlight();
        } finally {
            lock.unlock();
        }
    }

    private void releaseHold() {
        lock.lock();
        try {
            holds--;
            updateStopRequested();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Memory writes done so far (each dirtied one page). */
    public long memoryWrites() {
        return memoryWrites;
    }

    /** Disk block writes done so far. */
    public long diskWrites() {
        return diskWrites;
    }

    /** Disk writes the images' fences refused (the guest runs where it does not own its disks). */
    public long diskWriteErrors() {
        return diskWriteErrors;
    }

    public Optional<InactiveImageException> lastDiskWriteError() {
        return Optional.ofNullable(lastDiskWriteError);
    }

    /** What stopped the thread, if something did (a disk write failing, say). */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    long hotPages() {
        return hotPages;
    }

    CpuThrottle throttle() {
        return throttle;
    }

    /**
     * Starts marking every memory write in {@code logs} too (one bitmap per RAM block, in order).
     *
     * @return false if another measurement's log is installed (one at a time, as in QEMU)
     */
    boolean startRateLog(List<DirtyBitmap> logs) {
        if (logs.size() != blocks.size()) {
            throw new IllegalArgumentException("one bitmap per RAM block needed");
        }
        return rateLogs.compareAndSet(null, logs);
    }

    /**
     * Stops marking {@code logs} (if they are still the installed ones: a second stop changes
     * nothing). A write that read the log just before may still mark it after this returns: at
     * most the one write in flight.
     */
    void stopRateLog(List<DirtyBitmap> logs) {
        rateLogs.compareAndSet(logs, null);
    }

    /** Stops the thread for good and waits for it, so the memory it writes can then be freed. */
    void close() {
        lock.lock();
        try {
            closed = true;
            updateStopRequested();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (thread == null || thread == Thread.currentThread()) {
            return;
        }
        LockSupport.unpark(thread);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                // Freeing guest memory under a live writer would crash the JVM: keep waiting.
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        ByteBuffer diskBlock = ByteBuffer.allocateDirect(DiskImage.BLOCK_SIZE);
        double memoryBurst = Math.max(1, memoryRate * BURST_TICKS * TICK_NANOS / 1e9);
        double diskBurst = Math.max(1, diskRate * BURST_TICKS * TICK_NANOS / 1e9);
        double memoryCredit = 0;
        double diskCredit = 0;
        long last = System.nanoTime();
        try {
            while (true) {
                Turn turn = awaitTurn();
                if (turn == Turn.CLOSED) {
                    return;
                }
                long now = System.nanoTime();
                if (turn == Turn.RESUMED) {
                    last = now;
                    memoryCredit = 0;
                    diskCredit = 0;
                }
                double seconds = (now - last) / 1e9;
                last = now;
                memoryCredit = memoryRate == 0 ? 0 : Math.min(memoryBurst, memoryCredit + memoryRate * seconds);
                diskCredit = diskRate == 0 ? 0 : Math.min(diskBurst, diskCredit + diskRate * seconds);
                long memoryDone = 0;
                long diskDone = 0;
                try {
                    for (long due = (long) memoryCredit; memoryDone < due && !stopRequested; memoryDone++) {
                        if (!writeMemory()) {
                            break;
                        }
                    }
                    for (long due = (long) diskCredit; diskDone < due && !stopRequested; diskDone++) {
                        if (!writeDisk(diskBlock)) {
                            diskCredit = diskDone;   // refused: drop this tick's rest, no hammering the fence
                            break;
                        }
                    }
                } finally {
                    memoryCredit -= memoryDone;
                    diskCredit -= diskDone;
                    memoryWrites += memoryDone;
                    diskWrites += diskDone;
                    if (memoryDone + diskDone > 0) {
                        deviceState.bumpCounter(memoryDone + diskDone);
                    }
                    endTurn();
                }
                LockSupport.parkNanos(now + TICK_NANOS - System.nanoTime());
                last += throttle.sleepOffShare(TICK_NANOS, () -> stopRequested);   // asleep: no credit earned
            }
        } catch (Throwable e) {
            failure = e;
        }
    }

    /** Demand paging for post-copy (null to end it): the vCPU's accesses to missing pages wait for them. */
    void demandPaging(DemandPaging paging) {
        this.paging = paging;
    }

    /** False when a missing page did not arrive before a stop: the write is not done (and not counted). */
    private boolean writeMemory() {
        long hotPage = pendingPage >= 0 ? pendingPage : random.nextLong(hotPages);
        pendingPage = -1;
        int index = Arrays.binarySearch(blockFirstPages, hotPage);
        if (index < 0) {
            index = -index - 2; // the block whose first page precedes hotPage
        }
        long page = hotPage - blockFirstPages[index];
        DemandPaging faults = paging;
        if (faults != null && !faults.access(index, page, () -> stopRequested)) {
            pendingPage = hotPage;   // the same access is retried, so the write sequence stays the seed's
            return false;
        }
        int offset = random.nextInt(RamBlock.PAGE_SIZE / memoryWriteBytes) * memoryWriteBytes;
        RamBlock block = blocks.get(index);
        for (int i = 0; i < memoryWriteBytes; i += Long.BYTES) {
            block.putLong(page, offset + i, random.nextLong());
        }
        dirtyLogs.get(index).mark(page);
        List<DirtyBitmap> rate = rateLogs.get();
        if (rate != null) {
            rate.get(index).mark(page);
        }
        return true;
    }

    /** False when the image's fence refused the write. */
    private boolean writeDisk(ByteBuffer buffer) throws IOException {
        long n = deviceState.diskWrites() + 1;
        DiskWritePattern.Target target = DiskWritePattern.write(seed, n, diskBlockCounts, buffer);
        try {
            disks.get(target.disk()).write(target.block(), buffer);
        } catch (InactiveImageException refused) {
            diskWriteErrors++;
            lastDiskWriteError = refused;
            return false;
        }
        deviceState.diskWriteAcknowledged(n);
        return true;
    }

    private Turn awaitTurn() {
        lock.lock();
        try {
            boolean waited = false;
            while (!closed && (paused || holds > 0)) {
                waited = true;
                changed.awaitUninterruptibly();
            }
            if (closed) {
                return Turn.CLOSED;
            }
            writing = true;
            return waited ? Turn.RESUMED : Turn.CONTINUED;
        } finally {
            lock.unlock();
        }
    }

    private void endTurn() {
        lock.lock();
        try {
            writing = false;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // Caller holds lock.
    private void awaitNoWriteInFlight() {
        while (writing) {
            changed.awaitUninterruptibly();
        }
    }

    // Caller holds lock.
    private void updateStopRequested() {
        stopRequested = paused || holds > 0 || closed;
    }
}
