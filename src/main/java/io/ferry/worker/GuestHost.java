package io.ferry.worker;

import io.ferry.channel.ReportedGuestState;
import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DirtyRateCommand;
import io.ferry.channel.DirtyRateMode;
import io.ferry.channel.DirtyRateReport;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.guest.DirtyRateSampler;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.guest.GuestState;
import io.ferry.migration.MigratingGuest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The guests this worker hosts, by id. Every state change goes through here and bumps the
 * guest's state sequence, so the control plane can tell a fresh report from a stale one.
 */
final class GuestHost implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GuestHost.class);

    /** A hosted guest and the sequence number of its last state change (guarded by the guest's monitor). */
    private static final class Hosted {
        final SyntheticGuest guest;
        long stateSeq = 1;

        Hosted(SyntheticGuest guest) {
            this.guest = guest;
        }
    }

    private final Path datastore;
    private final String workerInstance;
    private final Map<UUID, Hosted> guests = new ConcurrentHashMap<>();

    GuestHost(Path datastore, String workerInstance) {
        this.datastore = datastore;
        this.workerInstance = workerInstance;
    }

    /** A new guest, its disks active at the generations the command gives (1 for a new disk). */
    GuestReport create(CreateGuestCommand command) {
        return report(command.guestId(), host(command, null));
    }

    /** An incoming guest for a migration: memory allocated, images inactive, workload stopped. */
    MigratingGuest createIncoming(CreateGuestCommand command, SyntheticGuest.IncomingImages images) {
        host(command, images);
        return migrating(command.guestId());
    }

    private Hosted host(CreateGuestCommand command, SyntheticGuest.IncomingImages images) {
        boolean incoming = images != null;
        GuestSpec spec = new GuestSpec(command.guestId().toString(),
                command.ramBlocks().stream().map(b -> new RamBlockSpec(b.name(), b.sizeBytes())).toList(),
                command.disks().stream().map(d -> new DiskSpec(d.diskId().toString(), d.name(), d.sizeBytes()))
                        .toList(),
                command.deviceStateBytes(),
                new WorkloadSpec(command.workload().dirtyPagesPerSecond(), command.workload().hotSetFraction(),
                        command.workload().diskWritesPerSecond(), command.workload().seed()));
        Hosted created = guests.compute(command.guestId(), (id, existing) -> {
            if (existing != null) {
                throw new IllegalStateException("guest " + id + " already exists on this worker");
            }
            try {
                if (incoming) {
                    return new Hosted(SyntheticGuest.createIncoming(spec, datastore, images));
                }
                Map<String, Long> generations = new java.util.LinkedHashMap<>();
                command.disks().forEach(d -> generations.put(d.diskId().toString(), d.generation()));
                return new Hosted(SyntheticGuest.create(spec, datastore, generations));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the disk images of guest " + id, e);
            }
        });
        log.info("{} guest {} created: {} RAM block(s), {} disk(s), workload {}", incoming ? "incoming" : "new",
                command.guestId(), command.ramBlocks().size(), command.disks().size(), command.workload());
        return created;
    }

    /** The guest as the migration engine drives it; its state changes are sequenced like commands. */
    MigratingGuest migrating(UUID guestId) {
        Hosted hosted = get(guestId);
        return new MigratingGuest() {
            @Override
            public SyntheticGuest guest() {
                return hosted.guest;
            }

            @Override
            public void changeState(GuestState next) {
                change(guestId, g -> g.setState(next));
            }

            @Override
            public GuestReport report() {
                return GuestHost.this.report(guestId, hosted);
            }
        };
    }

    /**
     * Lets a guest go without touching its images: an outgoing guest once the destination runs
     * it, or an incoming one that was discarded (the images belong to the guest's owner).
     */
    void release(UUID guestId) {
        release(guestId, false);
    }

    /**
     * As {@link #release(UUID)}; with {@code deleteImages} this host's copies of the images go
     * too — for images copied in or out, which nobody else uses (never for shared storage).
     */
    void release(UUID guestId, boolean deleteImages) {
        Hosted hosted = guests.remove(guestId);
        if (hosted != null) {
            hosted.guest.close();
            if (deleteImages) {
                try {
                    hosted.guest.deleteImages();
                } catch (IOException e) {
                    log.warn("guest {} released, but its image copies here remain: {}", guestId, e.toString());
                }
            }
            log.info("guest {} released{}", guestId, deleteImages ? " and its image copies here deleted" : "");
        }
    }

    /** Every open image and its fence, for anyone checking that no two hosts write one image. */
    List<io.ferry.channel.WorkerStatus.DiskFence> diskFences() {
        List<io.ferry.channel.WorkerStatus.DiskFence> fences = new java.util.ArrayList<>();
        guests.forEach((id, hosted) -> {
            if (!hosted.guest.memory().isClosed()) {
                hosted.guest.spec().disks().forEach(d -> fences.add(new io.ferry.channel.WorkerStatus.DiskFence(id,
                        UUID.fromString(d.diskId()), hosted.guest.disk(d.diskId()).activeGeneration())));
            }
        });
        return fences;
    }

    void destroy(UUID guestId, boolean deleteImages) {
        Hosted hosted = guests.remove(guestId);
        if (hosted == null) {
            throw new UnknownGuestException(guestId);
        }
        SyntheticGuest guest = hosted.guest;
        guest.close();
        if (deleteImages) {
            try {
                guest.deleteImages();
            } catch (IOException e) {
                throw new UncheckedIOException("guest " + guestId + " stopped, but its images remain", e);
            }
        }
        log.info("guest {} destroyed{}", guestId, deleteImages ? " and its images deleted" : "");
    }

    GuestReport pause(UUID guestId) {
        return change(guestId, g -> idle(g).pause());
    }

    GuestReport resume(UUID guestId) {
        return change(guestId, g -> idle(g).resume());
    }

    /** Commands may pause or resume only a guest no migration holds. */
    private static SyntheticGuest idle(SyntheticGuest guest) {
        if (guest.state() != GuestState.RUNNING && guest.state() != GuestState.PAUSED) {
            throw new IllegalStateException("guest " + guest.id() + " is " + guest.state().apiName()
                    + ": a migration holds it");
        }
        return guest;
    }

    private GuestReport change(UUID guestId, Consumer<SyntheticGuest> change) {
        Hosted hosted = get(guestId);
        synchronized (hosted) {
            change.accept(hosted.guest);
            hosted.stateSeq++;
            return report(guestId, hosted);
        }
    }

    GuestChecksumsReport checksums(UUID guestId) {
        GuestChecksums sums = get(guestId).guest.checksums();
        return new GuestChecksumsReport(guestId, sums.memory(),
                sums.ramBlocks().stream().map(b -> new GuestChecksumsReport.Block(b.name(), b.sizeBytes(), b.sha256()))
                        .toList(),
                sums.disks().stream().map(d -> new GuestChecksumsReport.Disk(UUID.fromString(d.diskId()), d.name(),
                        d.sha256())).toList(),
                sums.deviceState(), sums.diskWritesAcknowledged(), Instant.now());
    }

    /**
     * Measures the guest's dirty-page rate over the command's window in its mode (see
     * {@link DirtyRateSampler}). The calling thread waits out the window: a control-command
     * thread, never the control channel's event loop ({@link ControlChannelHandler} hands every
     * command to its own pool). The guest runs on untouched, and a migration of it may go on
     * meanwhile: neither mode reads or clears the migration's dirty log.
     *
     * @throws IllegalArgumentException if the window or the sample count is out of range
     * @throws IllegalStateException if the guest is incoming (a migration fills its memory), was
     *                               released during the window, or (dirty-bitmap) is being
     *                               measured with its dirty log already
     */
    DirtyRateReport dirtyRate(UUID guestId, DirtyRateCommand command) throws InterruptedException {
        long windowMs = command.windowMs() == null ? DirtyRateCommand.DEFAULT_WINDOW_MS : command.windowMs();
        DirtyRateMode mode = command.mode() == null ? DirtyRateMode.PAGE_SAMPLING : command.mode();
        int samples = command.samplePagesPerGiB() == null ? DirtyRateCommand.DEFAULT_SAMPLE_PAGES_PER_GIB
                : command.samplePagesPerGiB();
        if (windowMs < DirtyRateCommand.MIN_WINDOW_MS || windowMs > DirtyRateCommand.MAX_WINDOW_MS) {
            throw new IllegalArgumentException("windowMs must be " + DirtyRateCommand.MIN_WINDOW_MS + ".."
                    + DirtyRateCommand.MAX_WINDOW_MS + ", was " + windowMs);
        }
        if (samples < 1 || samples > DirtyRateSampler.MAX_SAMPLE_PAGES_PER_GIB) {
            throw new IllegalArgumentException("samplePagesPerGiB must be 1.." + DirtyRateSampler.MAX_SAMPLE_PAGES_PER_GIB
                    + ", was " + samples);
        }
        SyntheticGuest guest = get(guestId).guest;
        if (guest.state() == GuestState.INCOMING) {
            throw new IllegalStateException("guest " + guestId + " is incoming: a migration is filling its memory");
        }
        Duration window = Duration.ofMillis(windowMs);
        long seed = ThreadLocalRandom.current().nextLong();
        DirtyRateSampler.Result result = switch (mode) {
            case PAGE_SAMPLING -> DirtyRateSampler.measure(guest, window, samples, seed);
            case DIRTY_BITMAP -> DirtyRateSampler.measureDirtyLog(guest, window, samples, seed);
        };
        return new DirtyRateReport(guestId, mode, windowMs, result.windowNanos() / 1e6, samples,
                result.sampledPages(), result.changedPages(), result.totalPages(), result.dirtyPagesPerSecond(),
                result.dirtyBytesPerSecond(), result.zeroFraction(), guest.state().apiName(), Instant.now());
    }

    List<GuestReport> reports() {
        return guests.entrySet().stream().map(e -> report(e.getKey(), e.getValue()))
                .sorted(Comparator.comparing(r -> r.guestId().toString())).toList();
    }

    private Hosted get(UUID guestId) {
        Hosted hosted = guests.get(guestId);
        if (hosted == null) {
            throw new UnknownGuestException(guestId);
        }
        return hosted;
    }

    private GuestReport report(UUID id, Hosted hosted) {
        synchronized (hosted) {
            return new GuestReport(id, ReportedGuestState.fromApiName(hosted.guest.state().apiName()), hosted.guest.memory().totalBytes(),
                    hosted.stateSeq, workerInstance);
        }
    }

    /** The datastore this worker's images (and saves, see {@link GuestSaves}) are in. */
    Path datastore() {
        return datastore;
    }

    /** The hosted guest itself, for a command that reads it whole (a save). */
    SyntheticGuest guest(UUID guestId) {
        return get(guestId).guest;
    }

    /**
     * Hosts a guest built elsewhere (a restore) under its id, as it is.
     *
     * @throws IllegalStateException if a guest of that id is hosted already (the caller still owns {@code guest})
     */
    GuestReport adopt(SyntheticGuest guest) {
        UUID id = UUID.fromString(guest.id());
        Hosted hosted = new Hosted(guest);
        if (guests.putIfAbsent(id, hosted) != null) {
            throw new IllegalStateException("guest " + id + " already exists on this worker");
        }
        log.info("guest {} adopted: {} RAM block(s), {} disk(s), {}", id, guest.memory().blocks().size(),
                guest.spec().disks().size(), guest.state().apiName());
        return report(id, hosted);
    }

    @Override
    public void close() {
        guests.values().forEach(h -> h.guest.close());
        guests.clear();
    }
}
