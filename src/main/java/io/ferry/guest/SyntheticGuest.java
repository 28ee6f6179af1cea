package io.ferry.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * A guest made of real parts: off-heap RAM with a dirty log per block, raw disk images in the
 * datastore, a device-state blob, and a {@link Workload} that dirties them while the guest runs.
 *
 * <p>The state decides the workload: entering RUNNING resumes it, entering PAUSED (or being
 * created INCOMING) stops it, entering MIGRATING_OUT leaves it as it was. Legal transitions are
 * {@link GuestState}'s table; setting the current state again is a no-op.
 *
 * <p>{@link #close()} releases memory and file handles but keeps the image files, which live on
 * shared storage and may already belong to the destination; {@link #deleteImages()} is for
 * deleting the guest.
 */
public final class SyntheticGuest implements HostedGuest {

    /** {@link #runtime()}. */
    public static final String RUNTIME = "synthetic";

    private final GuestSpec spec;
    private final Path datastoreDir;
    private final GuestMemory memory;
    private final Map<String, DirtyBitmap> dirtyLogs;
    private final Map<String, DiskImage> disks;
    private final DeviceState deviceState;
    private final Workload workload;

    private final Object stateLock = new Object();
    private GuestState state; // guarded by stateLock
    private boolean closed;   // guarded by stateLock
    /** Read-held while checksums read memory and images, write-held by close() to free them. */
    private final ReentrantReadWriteLock resources = new ReentrantReadWriteLock();

    private SyntheticGuest(GuestSpec spec, Path datastoreDir, GuestState initial, IncomingImages images,
                           Map<String, Long> generations) throws IOException {
        this.spec = spec;
        this.datastoreDir = datastoreDir;
        this.deviceState = new DeviceState(spec.deviceStateBytes(), spec.workload().seed());
        this.dirtyLogs = new LinkedHashMap<>();
        this.disks = new LinkedHashMap<>();
        this.memory = GuestMemory.allocate(spec.ramBlocks());
        try {
            for (RamBlock block : memory.blocks()) {
                dirtyLogs.put(block.name(), new DirtyBitmap(block.pageCount()));
            }
            Files.createDirectories(datastoreDir);
            for (DiskSpec disk : spec.disks()) {
                Path path = datastoreDir.resolve(disk.imageFileName());
                DiskImage image = images == null ? DiskImage.open(path, disk.sizeBytes())
                        : images == IncomingImages.SHARED ? DiskImage.openExisting(path, disk.sizeBytes())
                        : DiskImage.createForCopy(path, disk.sizeBytes());
                disks.put(disk.diskId(), image);
                Long generation = generations.get(disk.diskId());
                if (generation != null) {
                    image.activate(generation);
                }
            }
            this.workload = new Workload(spec.guestId(), spec.workload(), memory,
                    List.copyOf(dirtyLogs.values()), List.copyOf(disks.values()), deviceState);
            if (initial == GuestState.INCOMING) {
                memory.prefaultInBackground(spec.guestId());   // ready before the pages arrive
            }
        } catch (IOException | RuntimeException | Error e) {
            disks.values().forEach(DiskImage::close);
            memory.close();
            throw e;
        }
        this.state = initial;
        if (initial == GuestState.RUNNING) {
            workload.resume();
        }
    }

    /** How the destination of a migration comes by its images. */
    public enum IncomingImages {
        /** The images are on storage both hosts see: open the existing files, inactive. */
        SHARED,
        /** This host has its own datastore: create empty images, inactive, for the migration to fill. */
        COPY
    }

    /**
     * Creates a running guest: memory zeroed, images opened (created sparse if absent) as
     * {@code <diskId>.img} in {@code datastoreDir} and activated at the ownership generation
     * given per disk id (a disk without one stays inactive), workload started.
     */
    public static SyntheticGuest create(GuestSpec spec, Path datastoreDir, Map<String, Long> generations)
            throws IOException {
        return new SyntheticGuest(Objects.requireNonNull(spec, "spec"), datastoreDir, GuestState.RUNNING, null,
                Map.copyOf(generations));
    }

    /** A new guest whose disks are all at generation 1, as a freshly created disk is. */
    public static SyntheticGuest create(GuestSpec spec, Path datastoreDir) throws IOException {
        Map<String, Long> first = new LinkedHashMap<>();
        spec.disks().forEach(d -> first.put(d.diskId(), 1L));
        return create(spec, datastoreDir, first);
    }

    /**
     * Creates the destination side of a migration: same layout, state INCOMING, workload stopped
     * until the migration completes and the guest is set RUNNING; every image inactive until the
     * control plane grants this host a generation.
     */
    public static SyntheticGuest createIncoming(GuestSpec spec, Path datastoreDir, IncomingImages images)
            throws IOException {
        return new SyntheticGuest(Objects.requireNonNull(spec, "spec"), datastoreDir, GuestState.INCOMING,
                Objects.requireNonNull(images, "images"), Map.of());
    }

    public GuestSpec spec() {
        return spec;
    }

    @Override
    public String id() {
        return spec.guestId();
    }

    @Override
    public String runtime() {
        return RUNTIME;
    }

    @Override
    public long memoryBytes() {
        return spec.memoryBytes();
    }

    /** Open images only: a closed guest fences nothing. */
    @Override
    public Map<String, Long> activeDiskGenerations() {
        Map<String, Long> generations = new LinkedHashMap<>();
        if (!memory.isClosed()) {
            disks.forEach((id, image) -> generations.put(id, image.activeGeneration()));
        }
        return generations;
    }

    @Override
    public GuestState state() {
        synchronized (stateLock) {
            return state;
        }
    }

    /** PAUSED, with the workload stopped when this returns. No-op if already paused. */
    @Override
    public void pause() {
        setState(GuestState.PAUSED);
    }

    /** RUNNING, with the workload writing again. No-op if already running. */
    @Override
    public void resume() {
        setState(GuestState.RUNNING);
    }

    /** @throws IllegalStateException if {@code current → next} is not a legal transition, or the guest is closed */
    public void setState(GuestState next) {
        Objects.requireNonNull(next, "next");
        synchronized (stateLock) {
            checkOpen();
            if (state != next) {
                state.checkTransitionTo(next);
                enter(next);
            }
        }
    }

    /**
     * Moves to {@code next} only if the state is still {@code expected}: the compare-and-set for
     * callers that decided on the transition from a state they read earlier.
     *
     * @return false if the state was not {@code expected}
     * @throws IllegalStateException if {@code expected → next} is not a legal transition
     */
    public boolean compareAndSetState(GuestState expected, GuestState next) {
        Objects.requireNonNull(next, "next");
        synchronized (stateLock) {
            checkOpen();
            if (state != expected) {
                return false;
            }
            if (state != next) {
                state.checkTransitionTo(next);
                enter(next);
            }
            return true;
        }
    }

    public GuestMemory memory() {
        return memory;
    }

    /** The dirty log of the named RAM block. */
    public DirtyBitmap dirtyLog(String blockName) {
        DirtyBitmap log = dirtyLogs.get(blockName);
        if (log == null) {
            throw new IllegalArgumentException("no RAM block named '" + blockName + "'");
        }
        return log;
    }

    /** Disk images in spec order. */
    public List<DiskImage> disks() {
        return List.copyOf(disks.values());
    }

    /** What stopped the workload thread, if something did (a failing disk write, say). */
    public Optional<Throwable> workloadFailure() {
        return workload.failure();
    }

    public DiskImage disk(String diskId) {
        DiskImage disk = disks.get(diskId);
        if (disk == null) {
            throw new IllegalArgumentException("no disk with id '" + diskId + "'");
        }
        return disk;
    }

    /** A copy of the device-state blob. */
    public byte[] deviceState() {
        return deviceState.copy();
    }

    /**
     * Replaces the device-state blob, as the destination does with the final record of a migration.
     *
     * @throws IllegalStateException unless the guest is INCOMING or PAUSED (nothing may write it meanwhile)
     */
    public void loadDeviceState(byte[] state) {
        synchronized (stateLock) {
            checkOpen();
            if (this.state != GuestState.INCOMING && this.state != GuestState.PAUSED) {
                throw new IllegalStateException("device state can be loaded only while incoming or paused, not "
                        + this.state);
            }
            deviceState.load(state);
        }
    }

    public long memoryWrites() {
        return workload.memoryWrites();
    }

    public long diskWrites() {
        return workload.diskWrites();
    }

    /** Disk writes acknowledged to the guest since it was created, across migrations. */
    public long diskWritesAcknowledged() {
        return deviceState.diskWrites();
    }

    /** Disk writes refused by the images' fences on this host. */
    public long diskWriteErrors() {
        return workload.diskWriteErrors();
    }

    public Optional<InactiveImageException> lastDiskWriteError() {
        return workload.lastDiskWriteError();
    }

    /**
     * Post-copy on the destination: from here the guest's accesses to pages not yet arrived
     * fault (see {@link DemandPaging}); every page starts present until {@link DemandPaging#discard}.
     */
    public DemandPaging startDemandPaging() {
        DemandPaging paging = new DemandPaging(memory);
        workload.demandPaging(paging);
        return paging;
    }

    /** Every page is here: accesses no longer check. */
    public void endDemandPaging() {
        workload.demandPaging(null);
    }

    /** Flushes and fences every image (writes in flight finish first). */
    public void inactivateDisks() throws IOException {
        for (DiskImage disk : disks.values()) {
            disk.inactivate();
        }
    }

    /** Activates every image at the generation given for its disk id. */
    public void activateDisks(Map<String, Long> generations) {
        for (Map.Entry<String, DiskImage> disk : disks.entrySet()) {
            Long generation = generations.get(disk.getKey());
            if (generation == null) {
                throw new IllegalArgumentException("no generation for disk " + disk.getKey());
            }
            disk.getValue().activate(generation);
        }
    }

    /**
     * Throttles the guest's vCPU to run {@code (100 - percent)} % of the time, as QEMU's
     * cpu-throttle does for auto-converge: its workload really sleeps the rest, so memory and disk
     * writes slow down by that share. 0 removes the throttle. The state is left alone (a paused
     * guest stays paused), and the throttle holds across pauses and resumes until changed.
     * Harmless on a closed guest.
     *
     * @throws IllegalArgumentException unless {@code 0 ≤ percent ≤ 99}
     */
    public void throttle(int percent) {
        workload.throttle().set(percent);
    }

    /** The CPU throttle in force, 0 when none. */
    public int throttlePercent() {
        return workload.throttle().percent();
    }

    /** Runs {@code action} with the workload held still, then lets it go on as before. */
    public <T> T quiesced(Supplier<T> action) {
        return workload.quiesced(action);
    }

    /**
     * Holds the workload still whatever the state says, until the hold is closed: a source
     * forced to complete its migration stays MIGRATING_OUT (so no pause or resume command can
     * touch it) while it stops dirtying memory and disks. Closing the guest ends every hold.
     *
     * @throws IllegalStateException if the guest is closed
     */
    public Workload.Hold holdWorkload() {
        synchronized (stateLock) {
            checkOpen();
        }
        return workload.hold();
    }

    /**
     * Runs {@code action} while the guest's memory cannot be freed, without holding the workload:
     * for readers that tolerate a page changing under them (the dirty-rate sampler).
     *
     * @throws IllegalStateException if the guest is closed
     */
    <T> T readingMemory(Supplier<T> action) {
        resources.readLock().lock();
        try {
            synchronized (stateLock) {
                checkOpen();
            }
            return action.get();
        } finally {
            resources.readLock().unlock();
        }
    }

    /**
     * Starts a dirty-rate measurement's own dirty log ({@code logs}: one bitmap per RAM block),
     * marked beside the migration's, which it leaves alone.
     *
     * @return false if another measurement's log runs
     * @throws IllegalStateException if the guest is closed
     */
    boolean startDirtyRateLog(List<DirtyBitmap> logs) {
        synchronized (stateLock) {
            checkOpen();
        }
        return workload.startRateLog(logs);
    }

    /** Stops the measurement's dirty log {@code logs} started by {@link #startDirtyRateLog}. */
    void stopDirtyRateLog(List<DirtyBitmap> logs) {
        workload.stopRateLog(logs);
    }

    /** Checksums of memory, each block, each disk and the device state, taken while the workload is held. */
    @Override
    public GuestChecksums checksums() {
        resources.readLock().lock();
        try {
            synchronized (stateLock) {
                checkOpen();
            }
            return quiesced(this::computeChecksums);
        } finally {
            resources.readLock().unlock();
        }
    }

    /** Stops the workload, frees memory, closes the images (leaving the files). Idempotent. */
    @Override
    public void close() {
        synchronized (stateLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        // Order matters: the workload thread and any checksum must be done before memory is freed.
        workload.close();
        resources.writeLock().lock();
        try {
            memory.close();
            disks.values().forEach(DiskImage::close);
        } finally {
            resources.writeLock().unlock();
        }
    }

    /** Closes the guest if needed, then deletes its image files from the datastore. */
    @Override
    public void deleteImages() throws IOException {
        close();
        for (DiskSpec disk : spec.disks()) {
            Files.deleteIfExists(datastoreDir.resolve(disk.imageFileName()));
        }
    }

    // Caller holds stateLock.
    private void enter(GuestState next) {
        switch (next) {
            case RUNNING -> workload.resume();
            case PAUSED, INCOMING -> workload.pause();
            case MIGRATING_OUT -> { } // a live migration: the guest goes on as it was
        }
        state = next;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("guest " + spec.guestId() + " is closed");
        }
    }

    private GuestChecksums computeChecksums() {
        HexFormat hex = HexFormat.of();
        MessageDigest all = Sha256.newDigest();
        List<GuestChecksums.BlockChecksum> blocks = new ArrayList<>();
        boolean oneBlock = memory.blocks().size() == 1;
        String memoryDigest = null;
        for (RamBlock block : memory.blocks()) {
            MessageDigest one = Sha256.newDigest();
            if (oneBlock) {
                block.digest(one);   // the block is all of memory: one pass gives both digests
            } else {
                block.digest(one, all);
            }
            String blockDigest = hex.formatHex(one.digest());
            memoryDigest = oneBlock ? blockDigest : null;
            blocks.add(new GuestChecksums.BlockChecksum(block.name(), block.sizeBytes(), blockDigest));
        }
        List<GuestChecksums.DiskChecksum> diskSums = new ArrayList<>();
        for (DiskSpec disk : spec.disks()) {
            try {
                diskSums.add(new GuestChecksums.DiskChecksum(disk.diskId(), disk.name(), disks.get(disk.diskId()).sha256()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new GuestChecksums(oneBlock ? memoryDigest : hex.formatHex(all.digest()), blocks, diskSums,
                deviceState.sha256(),
                deviceState.diskWrites());
    }

    @Override
    public String toString() {
        return "SyntheticGuest[" + spec.guestId() + ", " + state() + "]";
    }
}
