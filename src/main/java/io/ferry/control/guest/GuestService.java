package io.ferry.control.guest;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DiskLayout;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.channel.GuestRuntime;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.WorkloadSettings;
import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.events.Payloads.GuestChange;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostRuntime;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.host.WorkerRejectedException;
import io.ferry.control.idempotency.IdempotencyKey;
import io.ferry.control.idempotency.IdempotencyService;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.control.system.OptimisticRetry;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Guests' use cases. A guest first comes into being on its worker and is only then recorded,
 * in one transaction with its disks, their ownership and the idempotency record; if recording
 * fails the worker's copy is destroyed again, so no half-made guest remains on either side.
 */
@Service
public class GuestService {

    private static final Logger log = LoggerFactory.getLogger(GuestService.class);
    static final long PAGE_SIZE = 4096;

    private final GuestRepository guests;
    private final DiskRepository disks;
    private final HostService hosts;
    private final OwnershipService ownership;
    private final IdempotencyService idempotency;
    private final WorkerGateway workers;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final OptimisticRetry retry;
    private final EventRecorder recorder;

    GuestService(GuestRepository guests, DiskRepository disks, HostService hosts, OwnershipService ownership,
                 IdempotencyService idempotency, WorkerGateway workers, PlatformTransactionManager txManager,
                 Clock clock, OptimisticRetry retry, EventRecorder recorder) {
        this.recorder = recorder;
        this.retry = retry;
        this.guests = guests;
        this.disks = disks;
        this.hosts = hosts;
        this.ownership = ownership;
        this.idempotency = idempotency;
        this.workers = workers;
        this.tx = new TransactionTemplate(txManager);
        this.clock = clock;
    }

    /** Returns the guest this request (or the first request with the same key) created. */
    public Guest create(NewGuest request, IdempotencyKey key, String actor) {
        UUID id = idempotency.once(key, () -> place(request, key, actor));
        return get(id);
    }

    /** A guest's disks in one order everywhere (by name, then id), so disk indexes mean the same on every host. */
    static final java.util.Comparator<Disk> DISK_ORDER =
            java.util.Comparator.comparing(Disk::name).thenComparing(Disk::id);

    private UUID place(NewGuest request, IdempotencyKey key, String actor) {
        Host host = placementHost(request.hostId());
        checkRuntime(host, request.runtime());
        checkRoom(host, request.memoryBytes());
        UUID guestId = UUID.randomUUID();
        // in the order the records are read back (disksOf): every host sees the disks in one order
        List<Disk> newDisks = request.disks().stream()
                .map(d -> new Disk(UUID.randomUUID(), guestId, d.name(), d.sizeBytes(), clock.instant()))
                .sorted(DISK_ORDER).toList();
        GuestReport report = workers.createGuest(host, command(guestId, request, newDisks));
        try {
            tx.executeWithoutResult(status -> {
                idempotency.remember(key, guestId);
                Host locked = hosts.lock(host.id()).orElseThrow();
                checkRoom(locked, request.memoryBytes());
                Instant now = clock.instant();
                Guest created = guests.save(new Guest(guestId, request.name(), host.id(), request.runtime(), report,
                        request.ramBlocks(), request.deviceStateBytes(), request.workload(), request.labels(), now));
                guests.flush();
                changed(created, GuestChange.CREATED);
                for (Disk disk : newDisks) {
                    disks.save(disk);
                    disks.flush();
                    ownership.establish(disk.id(), host.id(), actor);
                }
            });
        } catch (RuntimeException e) {
            log.warn("recording guest {} failed, destroying it on {} again: {}", guestId, host.id(), e.toString());
            destroyQuietly(host, guestId);
            throw e;
        }
        log.info("{} guest {} ({}) created on {} with {} bytes of memory and {} disk(s)", request.runtime().apiName(),
                guestId, request.name(), host.id(), request.memoryBytes(), newDisks.size());
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

    /** Refuses a runtime the host's worker did not report it can run, naming the host and the worker's reason. */
    private static void checkRuntime(Host host, GuestRuntime runtime) {
        HostRuntime offered = host.runtime(runtime.apiName()).orElseThrow(() -> new PlacementException("host '"
                + host.id() + "' does not offer the " + runtime.apiName() + " runtime (its worker did not report it)"));
        if (!offered.available()) {
            throw new PlacementException("host '" + host.id() + "' cannot run " + runtime.apiName() + " guests: "
                    + offered.detail());
        }
    }

    /** Refuses a guest larger than what the host has left; the caller may hold the host row lock. */
    public void checkRoom(Host host, long memoryBytes) {
        long allocated = guests.allocatedMemory(host.id());
        long free = host.memoryCapacityBytes() - allocated;
        if (memoryBytes > free) {
            throw new PlacementException("guest of " + memoryBytes + " bytes does not fit on host '" + host.id()
                    + "': " + free + " of " + host.memoryCapacityBytes() + " bytes are free");
        }
    }

    private static CreateGuestCommand command(UUID guestId, NewGuest request, List<Disk> newDisks) {
        Workload w = request.workload();
        return new CreateGuestCommand(guestId,
                request.ramBlocks().stream().map(b -> new RamBlockLayout(b.name(), b.sizeBytes())).toList(),
                newDisks.stream().map(d -> new DiskLayout(d.id(), d.name(), d.sizeBytes(), 1)).toList(),
                request.deviceStateBytes(),
                new WorkloadSettings(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed()),
                request.runtime());
    }

    private void destroyQuietly(Host host, UUID guestId) {
        try {
            workers.destroyGuest(host, guestId, true);
        } catch (RuntimeException e) {
            log.error("guest {} may remain on {}: {}", guestId, host.id(), e.toString());
        }
    }

    @Transactional(readOnly = true)
    public Guest get(UUID id) {
        return guests.findById(id).orElseThrow(() -> new GuestNotFoundException(id));
    }

    @Transactional(readOnly = true)
    public java.util.Optional<Guest> find(UUID id) {
        return guests.findById(id);
    }

    @Transactional(readOnly = true)
    public List<Guest> list() {
        return guests.findAllByOrderByCreatedAtAsc();
    }

    /** The guests recorded on a host, oldest first. */
    @Transactional(readOnly = true)
    public List<Guest> onHost(String hostId) {
        return guests.findByHostIdOrderByCreatedAtAsc(hostId);
    }

    @Transactional(readOnly = true)
    public List<Disk> disksOf(UUID guestId) {
        return disks.findByGuestIdOrderByNameAscIdAsc(guestId);
    }

    @Transactional(readOnly = true)
    public Disk disk(UUID diskId) {
        return disks.findById(diskId).orElseThrow(() -> new DiskNotFoundException(diskId));
    }

    @Transactional(readOnly = true)
    public long allocatedMemory(String hostId) {
        return guests.allocatedMemory(hostId);
    }

    /** Replaces the guest's labels (they select its policy at its next migration). */
    public Guest relabel(UUID id, Map<String, String> labels) {
        return retry.inTransaction(() -> {
            Guest guest = get(id);
            guest.relabel(labels);
            return guests.saveAndFlush(guest);
        });
    }

    /** Stops the guest on its worker, removes its images and forgets it. Refused while a job holds it. */
    public void delete(UUID id) {
        Guest guest = get(id);
        if (guest.activeJobId() != null) {
            throw new GuestBusyException("guest " + id + " has an unfinished migration job " + guest.activeJobId()
                    + "; cancel it first");
        }
        if (guest.state() != GuestState.LOST) {
            Host host = hosts.find(guest.hostId()).orElseThrow();
            try {
                workers.destroyGuest(host, id, true);
            } catch (WorkerRejectedException e) {
                if (e.status() != 404) {
                    throw e;
                }
                log.warn("guest {} was already gone from {}; forgetting it", id, host.id());
            }
        }
        tx.executeWithoutResult(status -> {
            Guest current = get(id);
            if (current.activeJobId() != null) {
                throw new GuestBusyException("guest " + id + " was claimed by migration job " + current.activeJobId());
            }
            guests.delete(current);
            changed(current, GuestChange.DELETED);
        });
        log.info("guest {} deleted from {}", id, guest.hostId());
    }

    public Guest pause(UUID id) {
        Guest guest = requireIdle(id);
        return recordState(id, workers.pauseGuest(host(guest), id));
    }

    public Guest resume(UUID id) {
        Guest guest = requireIdle(id);
        return recordState(id, workers.resumeGuest(host(guest), id));
    }

    public GuestChecksumsReport checksums(UUID id) {
        Guest guest = requireLive(id);
        return workers.checksums(host(guest), id);
    }

    /** Pause and resume belong to the migration while one runs: its switchover decides. */
    private Guest requireIdle(UUID id) {
        Guest guest = requireLive(id);
        if (guest.activeJobId() != null) {
            throw new GuestBusyException("guest " + id + " is being migrated by job " + guest.activeJobId()
                    + "; pause and resume wait until the job ends");
        }
        return guest;
    }

    private Guest requireLive(UUID id) {
        Guest guest = get(id);
        if (guest.state() == GuestState.LOST) {
            throw new GuestBusyException("guest " + id + " is lost: its worker on " + guest.hostId()
                    + " restarted without it");
        }
        if (guest.state() == GuestState.FAILED) {
            throw new GuestBusyException("guest " + id + " has failed on " + guest.hostId() + " and can only be "
                    + "deleted: " + guest.failure());
        }
        return guest;
    }

    private Host host(Guest guest) {
        return hosts.find(guest.hostId()).orElseThrow();
    }

    /** Retried: a heartbeat may apply the same (or a newer) report to the row at the same moment. */
    private Guest recordState(UUID id, GuestReport report) {
        return retry.inTransaction(() -> {
            Guest guest = get(id);
            if (guest.apply(report)) {
                changed(guest, GuestChange.STATE);
            }
            return guests.saveAndFlush(guest);
        });
    }

    /**
     * Aligns recorded guest states with what the host's worker process reports. Reports older
     * than what a command reply already recorded are ignored (state sequence). A guest whose
     * worker process is not the one that holds it now is LOST: its memory went with that process.
     * A guest the worker does not mention is left alone: it may be being created or deleted.
     */
    @Transactional
    public void reconcile(String hostId, String workerInstance, List<GuestReport> reports) {
        Map<UUID, GuestReport> held = reports.stream()
                .collect(Collectors.toMap(GuestReport::guestId, Function.identity(), (a, b) -> a));
        for (Guest guest : guests.findByHostIdOrderByCreatedAtAsc(hostId)) {
            if (guest.markLostUnless(workerInstance)) {
                changed(guest, GuestChange.LOST);
                log.warn("guest {} is lost: the worker process on {} that held it is gone", guest.id(), hostId);
            } else if (held.containsKey(guest.id()) && guest.apply(held.get(guest.id()))) {
                changed(guest, GuestChange.STATE);
                if (guest.state() == GuestState.FAILED) {
                    log.warn("guest {} on {} has failed: {}", guest.id(), hostId, guest.failure());
                } else {
                    log.info("guest {} on {} is {}", guest.id(), hostId, guest.state().apiName());
                }
            }
        }
    }

    /** Applies a worker's report of one guest (ignored if older than what is recorded). */
    @Transactional
    public void applyReport(UUID guestId, GuestReport report) {
        guests.findById(guestId).filter(g -> g.apply(report)).ifPresent(g -> changed(g, GuestChange.STATE));
    }

    /** Records that a migration handed the guest to {@code host}; called in the job's completing transaction. */
    @Transactional
    public void moveTo(UUID guestId, Host host, GuestState runState) {
        guests.findById(guestId).ifPresent(g -> {
            g.moveTo(host.id(), host.workerInstance(), runState);
            changed(g, GuestChange.MOVED);
        });
    }

    /** Compare-and-set on the guest row: true when the guest had no unfinished job and now has this one. */
    @Transactional
    public boolean claimForJob(UUID guestId, UUID jobId) {
        if (guests.claimForJob(guestId, jobId) != 1) {
            return false;
        }
        guests.findById(guestId).ifPresent(g -> recorder.record(new Payloads.GuestChanged(guestId, GuestChange.CLAIMED,
                g.hostId(), g.state().apiName(), jobId)));
        return true;
    }

    /**
     * The job ended: the guest is free again. If the job left it where it was and its record
     * still says migrating-out, it shows the run state the source restored (the engine restores
     * it whenever a job ends without a switchover) instead of waiting for the next heartbeat.
     */
    @Transactional
    public boolean releaseFromJob(UUID guestId, UUID jobId, String sourceHostId, GuestState runState) {
        if (guests.releaseFromJob(guestId, jobId) != 1) {
            return false;
        }
        guests.findById(guestId).ifPresent(g -> {
            if (g.hostId().equals(sourceHostId) && g.settleAfterJob(runState)) {
                log.info("guest {} is {} again on {}", guestId, runState.apiName(), sourceHostId);
            }
            recorder.record(new Payloads.GuestChanged(guestId, GuestChange.RELEASED, g.hostId(),
                    g.state().apiName(), null));
        });
        return true;
    }

    /** Puts the guest's change on the event log, in the caller's transaction. */
    private void changed(Guest guest, GuestChange change) {
        recorder.record(new Payloads.GuestChanged(guest.id(), change, guest.hostId(), guest.state().apiName(),
                guest.activeJobId()));
    }
}
