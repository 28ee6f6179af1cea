package io.ferry.control.drain;

import io.ferry.control.lease.SweepLease;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestNotFoundException;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.GuestState;
import io.ferry.control.guest.PlacementException;
import io.ferry.control.host.HostNotFoundException;
import io.ferry.control.host.HostService;
import io.ferry.control.job.JobPriority;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationCommands;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.NewMigration;
import io.ferry.control.job.RequestedParameters;
import io.ferry.control.system.ResourceConflictException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Host drains. A drain cordons the host (no new incoming guests) and asks for a move of each
 * of its guests, destination left to placement, priority {@code maintenance}; every move goes
 * through the same admission as any job. A pass (every {@code ferry.drain.interval}) follows
 * each guest: asks for its move when due, settles it when its job ends, retries a failed move
 * with back-off on another destination where one exists, and reports a guest no host can take
 * once nothing else of the drain is in flight (capacity may still free up until then). A
 * drain ends when every guest is settled; the host stays cordoned until uncordoned.
 */
@Service
public class DrainService {

    private static final Logger log = LoggerFactory.getLogger(DrainService.class);
    public static final int DEFAULT_MAX_ATTEMPTS = 3;

    private final HostDrainRepository drains;
    private final DrainGuestRepository drainGuests;
    private final HostService hosts;
    private final GuestService guests;
    private final MigrationCommands commands;
    private final JobStore jobs;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final boolean enabled;

    private final SweepLease sweeps;

    DrainService(HostDrainRepository drains, DrainGuestRepository drainGuests, HostService hosts, GuestService guests,
                 MigrationCommands commands, JobStore jobs, PlatformTransactionManager txManager, Clock clock,
                 SweepLease sweeps, @Value("${ferry.dispatcher.enabled:true}") boolean enabled) {
        this.sweeps = sweeps;
        this.drains = drains;
        this.drainGuests = drainGuests;
        this.hosts = hosts;
        this.guests = guests;
        this.commands = commands;
        this.jobs = jobs;
        this.tx = new TransactionTemplate(txManager);
        this.clock = clock;
        this.enabled = enabled;
    }

    /** A drain with its guests, as the API shows it. */
    public record DrainView(HostDrain drain, List<DrainGuest> guests, List<MigrationJob> jobs) {
    }

    /** Cordons the host and starts draining it; 409 while a drain of it runs. */
    public DrainView start(String hostId, Map<String, String> destinationSelector, int maxAttempts, String actor) {
        hosts.find(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
        UUID id = tx.execute(s -> {
            hosts.lock(hostId);   // one drain start per host at a time
            latest(hostId).filter(d -> d.state() == DrainState.DRAINING).ifPresent(d -> {
                throw new ResourceConflictException("host '" + hostId + "' is already being drained (drain " + d.id()
                        + ", started " + d.startedAt() + ")");
            });
            hosts.cordon(hostId, true);
            Instant now = clock.instant();
            HostDrain drain = drains.saveAndFlush(new HostDrain(UUID.randomUUID(), hostId, destinationSelector,
                    maxAttempts, actor, now));
            for (Guest g : guests.onHost(hostId)) {
                if (g.state() != GuestState.LOST) {
                    drainGuests.save(new DrainGuest(drain.id(), g.id(), now));
                }
            }
            return drain.id();
        });
        log.info("host {} cordoned and draining (drain {}) by {}", hostId, id, actor);
        pass();
        return view(drains.findById(id).orElseThrow());
    }

    /**
     * Uncordons the host; a drain still running stops: its moves not yet started are cancelled,
     * moves already running finish. 404 when the host was never drained.
     */
    public DrainView stop(String hostId, String actor) {
        hosts.find(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
        HostDrain drain = latest(hostId).orElseThrow(() -> new NoDrainException(hostId));
        hosts.cordon(hostId, false);
        if (drain.state() == DrainState.DRAINING) {
            tx.executeWithoutResult(s -> {
                HostDrain d = drains.findById(drain.id()).orElseThrow();
                d.finish(DrainState.CANCELLED, clock.instant());
                for (DrainGuest g : drainGuests.findByKeyDrainId(d.id())) {
                    if (g.state() == DrainGuestState.PENDING) {
                        g.settle(DrainGuestState.CANCELLED, "the drain was stopped by " + actor, clock.instant());
                    }
                }
            });
            for (MigrationJob job : jobs.ofDrain(drain.id())) {
                if (job.status() == JobStatus.QUEUED) {
                    try {
                        commands.cancel(job.id(), actor + " (uncordon)");
                    } catch (RuntimeException startedMeanwhile) {
                        log.info("drain {}: job {} started before the uncordon; it finishes", drain.id(), job.id());
                    }
                }
            }
            log.info("host {} uncordoned by {}: drain {} stopped", hostId, actor, drain.id());
        } else {
            log.info("host {} uncordoned by {}", hostId, actor);
        }
        return view(drains.findById(drain.id()).orElseThrow());
    }

    /** The host's latest drain, running or not. */
    public Optional<DrainView> current(String hostId) {
        return latest(hostId).map(this::view);
    }

    @Scheduled(fixedDelayString = "${ferry.drain.interval:500ms}")
    void scheduledPass() {
        if (enabled && sweeps.held()) {   // one replica follows the drains
            pass();
        }
    }

    /** One pass over every running drain, and the moves a stopped drain left running. */
    synchronized void pass() {
        for (HostDrain drain : drains.findByState(DrainState.DRAINING)) {
            try {
                follow(drain);
            } catch (RuntimeException e) {
                log.warn("drain {} of {}: pass failed: {}", drain.id(), drain.hostId(), e.toString());
            }
        }
        for (DrainGuest item : drainGuests.findByState(DrainGuestState.MOVING)) {
            HostDrain drain = drains.findById(item.drainId()).orElseThrow();
            if (drain.state() == DrainState.CANCELLED) {
                settleStopped(item);
            }
        }
    }

    /** A move still running when its drain was stopped: it is settled when its job ends, and never tried again. */
    private void settleStopped(DrainGuest item) {
        MigrationJob job = jobs.get(item.jobId());
        Instant now = clock.instant();
        if (job.status() == JobStatus.COMPLETED) {
            item.settle(DrainGuestState.MOVED, "moved to " + job.destinationHostId() + " by job " + job.id(), now);
        } else if (job.status().isTerminal()) {
            item.settle(DrainGuestState.CANCELLED, "the drain was stopped; its move (job " + job.id() + ") "
                    + job.status().apiName(), now);
        } else {
            return;
        }
        drainGuests.saveAndFlush(item);
    }

    private void follow(HostDrain drain) {
        List<DrainGuest> items = drainGuests.findByKeyDrainId(drain.id());
        Instant now = clock.instant();
        for (DrainGuest item : items) {
            if (item.state() == DrainGuestState.MOVING) {
                settleMove(drain, item, now);
            }
        }
        for (DrainGuest item : items) {
            if (item.isDue(now)) {
                askForMove(drain, item, items, now);
            }
        }
        if (items.stream().allMatch(i -> i.state().isSettled())) {
            drain.finish(DrainState.COMPLETED, now);
            drains.saveAndFlush(drain);
            log.info("drain {} of {} completed: {} moved, {} not", drain.id(), drain.hostId(),
                    items.stream().filter(i -> i.state() == DrainGuestState.MOVED).count(),
                    items.stream().filter(i -> i.state() != DrainGuestState.MOVED).count());
        }
    }

    private void settleMove(HostDrain drain, DrainGuest item, Instant now) {
        MigrationJob job = jobs.get(item.jobId());
        if (job.status() == JobStatus.COMPLETED) {
            item.settle(DrainGuestState.MOVED, "moved to " + job.destinationHostId() + " by job " + job.id(), now);
        } else if (job.status() == JobStatus.FAILED || job.status() == JobStatus.CANCELLED) {
            String why = "job " + job.id() + " to " + job.destinationHostId() + " " + job.status().apiName() + ": "
                    + (job.failure() != null ? job.failure() : job.statusReason());
            item.moveFailed(job.destinationHostId(), why, drain.maxAttempts(), now);
            log.info("drain {}: guest {} {}", drain.id(), item.guestId(), item.state() == DrainGuestState.FAILED
                    ? "failed for good: " + item.cause() : "will be tried again at " + item.nextAttemptAt());
        } else {
            return;
        }
        drainGuests.saveAndFlush(item);
    }

    private void askForMove(HostDrain drain, DrainGuest item, List<DrainGuest> items, Instant now) {
        Guest guest;
        try {
            guest = guests.get(item.guestId());
        } catch (GuestNotFoundException deleted) {
            item.settle(DrainGuestState.CANCELLED, "the guest was deleted", now);
            drainGuests.saveAndFlush(item);
            return;
        }
        if (!guest.hostId().equals(drain.hostId())) {
            item.settle(DrainGuestState.MOVED, "already on " + guest.hostId(), now);
            drainGuests.saveAndFlush(item);
            return;
        }
        if (guest.activeJobId() != null) {
            item.notPlacedYet("waiting for its unfinished job " + guest.activeJobId(), now);
            drainGuests.saveAndFlush(item);
            return;
        }
        UUID jobId = null;
        String refusal = null;
        for (Set<String> avoid : List.of(item.tried(), Set.<String>of())) {
            try {
                jobId = commands.create(new NewMigration(guest.id(), null,
                        RequestedParameters.NONE.withDefaultPriority(JobPriority.MAINTENANCE), drain.id(), avoid,
                        drain.destinationSelector()), null, "drain:" + drain.id()).id();
                break;
            } catch (PlacementException | io.ferry.control.guest.GuestBusyException refused) {
                refusal = refused.getMessage();
                if (avoid.isEmpty()) {
                    break;
                }
            }
        }
        if (jobId != null) {
            item.moving(jobId, now);
        } else if (items.stream().anyMatch(i -> i != item && i.state() == DrainGuestState.MOVING)) {
            item.notPlacedYet("cannot be placed yet: " + refusal, now);   // in-flight moves may still free room
        } else {
            item.settle(DrainGuestState.UNPLACEABLE, refusal, now);
            log.warn("drain {}: guest {} cannot be placed: {}", drain.id(), guest.id(), refusal);
        }
        drainGuests.saveAndFlush(item);
    }

    private Optional<HostDrain> latest(String hostId) {
        return drains.findFirstByHostIdOrderByStartedAtDesc(hostId);
    }

    private DrainView view(HostDrain drain) {
        return new DrainView(drain, drainGuests.findByKeyDrainId(drain.id()), jobs.ofDrain(drain.id()));
    }
}
