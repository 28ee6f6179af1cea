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
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The guests this worker hosts, by id. */
final class GuestHost implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GuestHost.class);

    private final Path datastore;
    private final Map<UUID, SyntheticGuest> guests = new ConcurrentHashMap<>();

    GuestHost(Path datastore) {
        this.datastore = datastore;
    }

    GuestReport create(CreateGuestCommand command) {
        GuestSpec spec = new GuestSpec(command.guestId().toString(),
                command.ramBlocks().stream().map(b -> new RamBlockSpec(b.name(), b.sizeBytes())).toList(),
                command.disks().stream().map(d -> new DiskSpec(d.diskId().toString(), d.name(), d.sizeBytes()))
                        .toList(),
                command.deviceStateBytes(),
                new WorkloadSpec(command.workload().dirtyPagesPerSecond(), command.workload().hotSetFraction(),
                        command.workload().diskWritesPerSecond(), command.workload().seed()));
        SyntheticGuest[] created = new SyntheticGuest[1];
        guests.compute(command.guestId(), (id, existing) -> {
            if (existing != null) {
                throw new IllegalStateException("guest " + id + " already exists on this worker");
            }
            created[0] = SyntheticGuest.create(spec, datastore);
            return created[0];
        });
        log.info("guest {} created: {} RAM block(s), {} disk(s), workload {}", command.guestId(),
                command.ramBlocks().size(), command.disks().size(), command.workload());
        return report(command.guestId(), created[0]);
    }

    void destroy(UUID guestId, boolean deleteImages) {
        SyntheticGuest guest = guests.remove(guestId);
        if (guest == null) {
            throw new UnknownGuestException(guestId);
        }
        guest.close();
        if (deleteImages) {
            guest.deleteImages();
        }
        log.info("guest {} destroyed{}", guestId, deleteImages ? " and its images deleted" : "");
    }

    GuestReport pause(UUID guestId) {
        SyntheticGuest guest = get(guestId);
        guest.pause();
        return report(guestId, guest);
    }

    GuestReport resume(UUID guestId) {
        SyntheticGuest guest = get(guestId);
        guest.resume();
        return report(guestId, guest);
    }

    GuestChecksumsReport checksums(UUID guestId) {
        GuestChecksums sums = get(guestId).checksums();
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

    private SyntheticGuest get(UUID guestId) {
        SyntheticGuest guest = guests.get(guestId);
        if (guest == null) {
            throw new UnknownGuestException(guestId);
        }
        return guest;
    }

    private static GuestReport report(UUID id, SyntheticGuest guest) {
        return new GuestReport(id, guest.state().apiName(), guest.memory().totalBytes());
    }

    @Override
    public void close() {
        guests.values().forEach(SyntheticGuest::close);
        guests.clear();
    }
}
