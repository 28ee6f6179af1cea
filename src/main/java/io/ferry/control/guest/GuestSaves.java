package io.ferry.control.guest;

import io.ferry.channel.GuestRuntime;

import io.ferry.channel.GuestReport;
import io.ferry.channel.RestoreGuestCommand;
import io.ferry.channel.SaveFormat;
import io.ferry.channel.SaveGuestCommand;
import io.ferry.channel.SavedGuestReport;
import io.ferry.channel.SavedLayoutQuery;
import io.ferry.channel.SavedLayoutReport;
import io.ferry.channel.WorkloadSettings;
import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.events.Payloads.GuestChange;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.idempotency.IdempotencyKey;
import io.ferry.control.idempotency.IdempotencyService;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.control.system.OptimisticRetry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Save and restore (issue 16, item 4). A save pauses the guest on its worker (it stays paused)
 * and writes it to a file in the worker's datastore. A restore creates a new guest from such a
 * file on any host that can read it, in the order {@link GuestService} creates one: the worker
 * first reports the guest the file holds (read from its head), the memory is checked against
 * the host's free memory and the disks are given new ids, then the worker restores it (all or
 * nothing), and only then is the guest recorded, in one transaction with its disks, their
 * ownership (ACTIVE on the host, generation 1, as a new disk's) and the idempotency record; if
 * recording fails the worker's copy is destroyed again. A refused file leaves no record and no image.
 */
@Service
public class GuestSaves {

    private static final Logger log = LoggerFactory.getLogger(GuestSaves.class);
    private static final long MIB = 1L << 20;

    private final GuestService guestService;
    private final GuestRepository guests;
    private final DiskRepository disks;
    private final HostService hosts;
    private final OwnershipService ownership;
    private final IdempotencyService idempotency;
    private final WorkerGateway workers;
    private final TransactionTemplate tx;
    private final OptimisticRetry retry;
    private final EventRecorder recorder;
    private final Clock clock;

    GuestSaves(GuestService guestService, GuestRepository guests, DiskRepository disks, HostService hosts,
               OwnershipService ownership, IdempotencyService idempotency, WorkerGateway workers,
               PlatformTransactionManager txManager, OptimisticRetry retry, EventRecorder recorder, Clock clock) {
        this.guestService = guestService;
        this.guests = guests;
        this.disks = disks;
        this.hosts = hosts;
        this.ownership = ownership;
        this.idempotency = idempotency;
        this.workers = workers;
        this.tx = new TransactionTemplate(txManager);
        this.retry = retry;
        this.recorder = recorder;
        this.clock = clock;
    }

    /**
     * Saves the guest in {@code format}; a running guest is paused for it and stays paused, and
     * its record shows the state the worker reported.
     *
     * @throws GuestBusyException  while a migration job holds the guest, or when it is lost
     * @throws SaveRefusedException for a {@code qemu} save of memory that is no whole number of MiB
     */
    public SavedGuest save(UUID guestId, SaveFormat format) {
        Guest guest = guestService.get(guestId);
        if (guest.state() == GuestState.LOST) {
            throw new GuestBusyException("guest " + guestId + " is lost: its worker on " + guest.hostId()
                    + " restarted without it");
        }
        if (guest.activeJobId() != null) {
            throw new GuestBusyException("guest " + guestId + " is being migrated by job " + guest.activeJobId()
                    + "; a save waits until the job ends");
        }
        if (guest.runtime() != GuestRuntime.SYNTHETIC) {
            throw new SaveRefusedException("guest " + guestId + " runs on the " + guest.runtime().apiName()
                    + " runtime: saving it is not supported yet (only synthetic guests are saved)");
        }
        if (format == SaveFormat.QEMU && guest.memoryBytes() % MIB != 0) {
            throw new SaveRefusedException("guest " + guestId + " has " + guest.memoryBytes() + " bytes of memory: "
                    + "a qemu save is for QEMU's pc machine, whose memory (-m) is a whole number of MiB");
        }
        Host host = hosts.find(guest.hostId()).orElseThrow();
        SavedGuestReport saved = workers.saveGuest(host, guestId, new SaveGuestCommand(format));
        retry.inTransaction(() -> {
            guestService.applyReport(guestId, saved.guest());
            return null;
        });
        log.info("guest {} saved on {} to {} ({}, {} bytes)", guestId, host.id(), saved.file(),
                saved.format().apiName(), saved.bytes());
        return new SavedGuest(guestId, host.id(), saved.file(), saved.format(), saved.bytes());
    }

    /** Returns the guest this request (or the first request with the same key) restored. */
    public Guest restore(RestoredGuest request, IdempotencyKey key, String actor) {
        UUID id = idempotency.once(key, () -> place(request, key, actor));
        return guestService.get(id);
    }

    private UUID place(RestoredGuest request, IdempotencyKey key, String actor) {
        Host host = placementHost(request.hostId());
        SavedLayoutReport layout = workers.savedLayout(host, new SavedLayoutQuery(request.restoreFrom()));
        List<RamBlock> ramBlocks = layout.ramBlocks().stream().map(b -> new RamBlock(b.name(), b.sizeBytes())).toList();
        long memoryBytes = ramBlocks.stream().mapToLong(RamBlock::sizeBytes).sum();
        guestService.checkRoom(host, memoryBytes);
        UUID guestId = UUID.randomUUID();
        List<Disk> newDisks = new ArrayList<>();
        List<RestoreGuestCommand.RestoredDisk> restored = new ArrayList<>();
        for (SavedLayoutReport.SavedDisk saved : layout.disks()) {
            Disk disk = new Disk(UUID.randomUUID(), guestId, saved.name(), saved.sizeBytes(), clock.instant());
            newDisks.add(disk);
            restored.add(new RestoreGuestCommand.RestoredDisk(saved.savedDiskId(), disk.id(), 1));
        }
        newDisks.sort(GuestService.DISK_ORDER);
        Workload w = request.workload();
        GuestReport report = workers.restoreGuest(host, new RestoreGuestCommand(guestId, request.restoreFrom(), restored,
                new WorkloadSettings(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed())));
        try {
            tx.executeWithoutResult(status -> {
                idempotency.remember(key, guestId);
                Host locked = hosts.lock(host.id()).orElseThrow();
                guestService.checkRoom(locked, memoryBytes);
                Guest created = guests.save(new Guest(guestId, request.name(), host.id(), GuestRuntime.SYNTHETIC, report, ramBlocks,
                        layout.deviceStateBytes(), w, request.labels(), clock.instant()));
                guests.flush();
                recorder.record(new Payloads.GuestChanged(guestId, GuestChange.CREATED, created.hostId(),
                        created.state().apiName(), null));
                for (Disk disk : newDisks) {
                    disks.save(disk);
                    disks.flush();
                    ownership.establish(disk.id(), host.id(), actor);
                }
            });
        } catch (RuntimeException e) {
            log.warn("recording restored guest {} failed, destroying it on {} again: {}", guestId, host.id(),
                    e.toString());
            try {
                workers.destroyGuest(host, guestId, true);
            } catch (RuntimeException destroy) {
                log.error("guest {} may remain on {}: {}", guestId, host.id(), destroy.toString());
            }
            throw e;
        }
        log.info("guest {} ({}) restored on {} from {}: {} bytes of memory, {} disk(s)", guestId, request.name(),
                host.id(), request.restoreFrom(), memoryBytes, newDisks.size());
        return guestId;
    }

    private Host placementHost(String hostId) {
        Host host = hosts.find(hostId).orElseThrow(() -> new PlacementException("host '" + hostId + "' is unknown"));
        if (!host.isReachable()) {
            throw new PlacementException("host '" + hostId + "' is unreachable (last heartbeat "
                    + host.lastHeartbeatAt() + ")");
        }
        if (host.isCordoned()) {
            throw new PlacementException("host '" + hostId + "' is cordoned: it takes no new guests");
        }
        return host;
    }
}
