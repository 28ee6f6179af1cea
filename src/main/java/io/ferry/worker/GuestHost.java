package io.ferry.worker;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
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
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
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

    GuestReport create(CreateGuestCommand command) {
        return report(command.guestId(), host(command, false));
    }

    /** An incoming guest for a migration: memory allocated, disks opened, workload stopped. */
    MigratingGuest createIncoming(CreateGuestCommand command) {
        host(command, true);
        return migrating(command.guestId());
    }

    private Hosted host(CreateGuestCommand command, boolean incoming) {
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
                return new Hosted(incoming ? SyntheticGuest.createIncoming(spec, datastore)
                        : SyntheticGuest.create(spec, datastore));
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
        Hosted hosted = guests.remove(guestId);
        if (hosted != null) {
            hosted.guest.close();
            log.info("guest {} released", guestId);
        }
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
                sums.deviceState(), Instant.now());
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
            return new GuestReport(id, hosted.guest.state().apiName(), hosted.guest.memory().totalBytes(),
                    hosted.stateSeq, workerInstance);
        }
    }

    @Override
    public void close() {
        guests.values().forEach(h -> h.guest.close());
        guests.clear();
    }
}
