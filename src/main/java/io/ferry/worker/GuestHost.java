package io.ferry.worker;

import io.ferry.channel.ReportedGuestState;
import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DirtyRateCommand;
import io.ferry.channel.DirtyRateMode;
import io.ferry.channel.DirtyRateReport;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.guest.DirtyRateSampler;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.HostedGuest;
import io.ferry.guest.SyntheticGuest;
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
 * The guests this worker hosts, by id, whatever their runtime ({@link GuestRuntimes}). Every
 * state change goes through here and bumps the guest's state sequence, so the control plane can
 * tell a fresh report from a stale one; a guest that fails on its own (its QEMU died) bumps it too,
 * so the next heartbeat carries the failure. What only synthetic guests have (migration, the
 * dirty-rate sampler) is refused for other runtimes with a {@link RuntimeRefusedException}.
 */
final class GuestHost implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GuestHost.class);

    /** A hosted guest and the sequence number of its last state change (guarded by the guest's monitor). */
    private static final class Hosted {
        /** Set once, before any other thread sees this (a failure callback may run before the guest is set). */
        volatile HostedGuest guest;
        long stateSeq = 1;
    }

    private final Path datastore;
    private final String workerInstance;
    private final GuestRuntimes runtimes;
    private final Map<UUID, Hosted> guests = new ConcurrentHashMap<>();

    /** A host of synthetic guests only. */
    GuestHost(Path datastore, String workerInstance) {
        this(datastore, workerInstance, GuestRuntimes.syntheticOnly("this host"));
    }

    GuestHost(Path datastore, String workerInstance, GuestRuntimes runtimes) {
        this.datastore = datastore;
        this.workerInstance = workerInstance;
        this.runtimes = runtimes;
    }

    /** Which runtimes this host can run, for its registration. */
    List<io.ferry.channel.RuntimeAvailability> runtimes() {
        return runtimes.availability();
    }

    /**
     * A new guest of the command's runtime, its disks active at the generations the command gives
     * (1 for a new disk).
     *
     * @throws RuntimeRefusedException if this host cannot run that runtime
     */
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
        // refused before anything is made: a runtime this host cannot run, or a migration into a non-synthetic guest
        GuestLauncher launcher = incoming ? null : runtimes.launcher(command.runtime());
        if (incoming && command.runtime() != io.ferry.channel.GuestRuntime.SYNTHETIC) {
            throw new RuntimeRefusedException("migration of " + command.runtime().apiName()
                    + " guests is not supported yet");
        }
        Hosted created = guests.compute(command.guestId(), (id, existing) -> {
            if (existing != null) {
                throw new IllegalStateException("guest " + id + " already exists on this worker");
            }
            Hosted hosted = new Hosted();
            try {
                hosted.guest = incoming ? SyntheticGuest.createIncoming(GuestSpecs.synthetic(command), datastore, images)
                        : launcher.launch(command, datastore, () -> failed(id, hosted));
                return hosted;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create guest " + id + ": " + e.getMessage(), e);
            }
        });
        log.info("{} {} guest {} created: {} bytes of memory in {} RAM block(s), {} disk(s), workload {}",
                incoming ? "incoming" : "new", command.runtime().apiName(), command.guestId(),
                created.guest.memoryBytes(), command.ramBlocks().size(), command.disks().size(), command.workload());
        return created;
    }

    /**
     * The guest ended on its own (its runtime logged why): its next report, the next heartbeat's,
     * says so under a new state sequence number.
     */
    private void failed(UUID guestId, Hosted hosted) {
        synchronized (hosted) {
            hosted.stateSeq++;
        }
        log.info("guest {} is failed; the control plane hears of it with the next heartbeat", guestId);
    }

    /**
     * The synthetic guest the engine or the sampler needs.
     *
     * @throws RuntimeRefusedException for a guest of another runtime
     */
    private static SyntheticGuest synthetic(UUID guestId, Hosted hosted, String what) {
        if (hosted.guest instanceof SyntheticGuest synthetic) {
            return synthetic;
        }
        throw new RuntimeRefusedException(what + " of " + hosted.guest.runtime() + " guests is not supported yet"
                + " (guest " + guestId + ")");
    }

    /** The guest as the migration engine drives it; its state changes are sequenced like commands. */
    MigratingGuest migrating(UUID guestId) {
        Hosted hosted = get(guestId);
        SyntheticGuest guest = synthetic(guestId, hosted, "migration");
        return new MigratingGuest() {
            @Override
            public SyntheticGuest guest() {
                return guest;
            }

            @Override
            public void changeState(GuestState next) {
                change(guestId, g -> guest.setState(next));
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
        guests.forEach((id, hosted) -> hosted.guest.activeDiskGenerations().forEach((diskId, generation) ->
                fences.add(new io.ferry.channel.WorkerStatus.DiskFence(id, UUID.fromString(diskId), generation))));
        return fences;
    }

    void destroy(UUID guestId, boolean deleteImages) {
        Hosted hosted = guests.remove(guestId);
        if (hosted == null) {
            throw new UnknownGuestException(guestId);
        }
        HostedGuest guest = hosted.guest;
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
    private static HostedGuest idle(HostedGuest guest) {
        if (guest.state() != GuestState.RUNNING && guest.state() != GuestState.PAUSED) {
            throw new IllegalStateException("guest " + guest.id() + " is " + guest.state().apiName()
                    + ": a migration holds it");
        }
        return guest;
    }

    private GuestReport change(UUID guestId, Consumer<HostedGuest> change) {
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
        SyntheticGuest guest = synthetic(guestId, get(guestId), "dirty-rate measurement");
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

    /** A failed guest reports FAILED and why, whatever state it had before. */
    private GuestReport report(UUID id, Hosted hosted) {
        synchronized (hosted) {
            HostedGuest guest = hosted.guest;
            String failure = guest.failure().orElse(null);
            return new GuestReport(id, failure != null ? ReportedGuestState.FAILED
                    : ReportedGuestState.fromApiName(guest.state().apiName()), guest.memoryBytes(),
                    hosted.stateSeq, workerInstance, failure);
        }
    }

    /** The guest as its runtime holds it (for tests that look behind the commands). */
    HostedGuest hosted(UUID guestId) {
        return get(guestId).guest;
    }

    /** The datastore this worker's images (and saves, see {@link GuestSaves}) are in. */
    Path datastore() {
        return datastore;
    }

    /** The hosted guest itself, for a command that reads it whole (a save). */
    SyntheticGuest guest(UUID guestId) {
        return synthetic(guestId, get(guestId), "a save");
    }

    /**
     * Hosts a guest built elsewhere (a restore) under its id, as it is.
     *
     * @throws IllegalStateException if a guest of that id is hosted already (the caller still owns {@code guest})
     */
    GuestReport adopt(SyntheticGuest guest) {
        UUID id = UUID.fromString(guest.id());
        Hosted hosted = new Hosted();
        hosted.guest = guest;
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
