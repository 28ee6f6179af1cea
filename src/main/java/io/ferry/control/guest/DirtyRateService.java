package io.ferry.control.guest;

import io.ferry.channel.DirtyRateCommand;
import io.ferry.channel.DirtyRateMode;
import io.ferry.channel.DirtyRateReport;
import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import io.ferry.control.events.Payloads.GuestChange;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Dirty-rate measurements of guests on their workers (QEMU's calc-dirty-rate, asynchronous as
 * QEMU's is: start, then read the result off the guest).
 *
 * <p>One measurement per guest at a time, as QEMU allows one per VM ("the dirty rate is already
 * being measured"); and none while a migration job holds the guest: the job's own progress
 * reports the rate it meets ({@code dirtyPagesRate}), auto-converge may be throttling the guest,
 * and a window across the switchover would measure a guest that is no longer where it was
 * measured. Both checks are made with the guest row locked, so a job cannot claim the guest in
 * between; a job created while a measurement runs goes ahead, and the measurement keeps the
 * host it ran on.
 *
 * <p>The worker call blocks for the window; it runs on this service's own threads (one per
 * measurement in flight, at most one per guest), never on a request thread.
 */
@Service
public class DirtyRateService {

    private static final Logger log = LoggerFactory.getLogger(DirtyRateService.class);

    private final GuestRepository guests;
    private final DirtyRateMeasurementRepository measurements;
    private final HostService hosts;
    private final WorkerGateway workers;
    private final EventRecorder recorder;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final ExecutorService runs;

    DirtyRateService(GuestRepository guests, DirtyRateMeasurementRepository measurements, HostService hosts,
                     WorkerGateway workers, EventRecorder recorder, PlatformTransactionManager txManager,
                     Clock clock) {
        this.guests = guests;
        this.measurements = measurements;
        this.hosts = hosts;
        this.workers = workers;
        this.recorder = recorder;
        this.tx = new TransactionTemplate(txManager);
        this.clock = clock;
        AtomicInteger threads = new AtomicInteger();
        this.runs = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "dirty-rate-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts measuring the guest on its current host; returns the row, {@code measuring}.
     * {@code command}'s nulls take the defaults (1000 ms, page-sampling, 512 pages per GiB).
     *
     * @throws GuestNotFoundException if there is no such guest
     * @throws GuestBusyException     if the guest is lost, held by a job, or being measured
     */
    public DirtyRateMeasurement start(UUID guestId, DirtyRateCommand command) {
        DirtyRateCommand resolved = new DirtyRateCommand(
                command.windowMs() == null ? DirtyRateCommand.DEFAULT_WINDOW_MS : command.windowMs(),
                command.mode() == null ? DirtyRateMode.PAGE_SAMPLING : command.mode(),
                command.samplePagesPerGiB() == null ? DirtyRateCommand.DEFAULT_SAMPLE_PAGES_PER_GIB
                        : command.samplePagesPerGiB());
        UUID run = UUID.randomUUID();
        DirtyRateMeasurement started = tx.execute(status -> {
            Guest guest = guests.lockById(guestId).orElseThrow(() -> new GuestNotFoundException(guestId));
            if (guest.state() == GuestState.LOST) {
                throw new GuestBusyException("guest " + guestId + " is lost: its worker on " + guest.hostId()
                        + " restarted without it, so there is nothing to measure");
            }
            if (guest.state() == GuestState.FAILED) {
                throw new GuestBusyException("guest " + guestId + " has failed: " + guest.failure());
            }
            if (guest.runtime() != io.ferry.channel.GuestRuntime.SYNTHETIC) {
                throw new PlacementException("guest " + guestId + " is a " + guest.runtime().apiName()
                        + " guest: dirty-rate measurement of " + guest.runtime().apiName()
                        + " guests is not supported yet");
            }
            if (guest.activeJobId() != null) {
                throw new GuestBusyException("guest " + guestId + " is being migrated by job " + guest.activeJobId()
                        + ": the job's progress reports the dirty rate it meets (dirtyPagesRate); measure again"
                        + " once the job has ended");
            }
            Instant now = clock.instant();
            Optional<DirtyRateMeasurement> last = measurements.findById(guestId);
            DirtyRateMeasurement row = last.orElseGet(() -> new DirtyRateMeasurement(guestId));
            if (last.isPresent() && row.status(now).isRunning()) {
                throw new GuestBusyException("guest " + guestId + " is already being measured (" + row.mode().apiName()
                        + ", " + row.windowMs() + " ms window, started " + row.startedAt()
                        + "); read its dirtyRate from GET /api/v1/guests/" + guestId + " and ask again once it is"
                        + " measured");
            }
            row.start(run, resolved.mode(), resolved.windowMs(), resolved.samplePagesPerGiB(), guest.hostId(), now);
            DirtyRateMeasurement saved = measurements.saveAndFlush(row);
            changed(guest, GuestChange.DIRTY_RATE_MEASURING);
            return saved;
        });
        try {
            runs.execute(() -> measure(run, started.hostId(), guestId, resolved));
        } catch (RejectedExecutionException stopping) {
            finish(guestId, run, row -> row.failed(run, "the control plane is stopping", clock.instant()));
        }
        log.info("measuring the dirty rate of guest {} on {} ({}, {} ms)", guestId, started.hostId(),
                resolved.mode().apiName(), resolved.windowMs());
        return started;
    }

    private void measure(UUID run, String hostId, UUID guestId, DirtyRateCommand command) {
        try {
            DirtyRateReport report = workers.measureDirtyRate(hosts.find(hostId).orElseThrow(
                    () -> new IllegalStateException("host '" + hostId + "' is no longer registered")), guestId, command);
            finish(guestId, run, row -> row.measured(run, report));
        } catch (RuntimeException e) {
            log.warn("dirty rate of guest {} on {} not measured: {}", guestId, hostId, e.getMessage());
            try {
                finish(guestId, run, row -> row.failed(run, String.valueOf(e.getMessage()), clock.instant()));
            } catch (RuntimeException lost) {
                // the row reads as failed once its deadline passes
                log.warn("could not record the failed measurement of guest {}: {}", guestId, lost.toString());
            }
        }
    }

    /** Applies the end of {@code run} to the guest's row, if the row still waits for it, with its event. */
    private void finish(UUID guestId, UUID run, Function<DirtyRateMeasurement, Boolean> end) {
        tx.executeWithoutResult(status -> measurements.findById(guestId).ifPresent(row -> {
            if (!end.apply(row)) {
                return;   // replaced by a newer measurement, or the guest is gone
            }
            measurements.saveAndFlush(row);
            DirtyRateStatus now = row.status(clock.instant());
            guests.findById(guestId).ifPresent(g -> changed(g, now == DirtyRateStatus.MEASURED
                    ? GuestChange.DIRTY_RATE_MEASURED : GuestChange.DIRTY_RATE_FAILED));
        }));
    }

    @Transactional(readOnly = true)
    public Optional<DirtyRateMeasurement> find(UUID guestId) {
        return measurements.findById(guestId);
    }

    /** Every guest's latest measurement, by guest id (for listing guests in one query). */
    @Transactional(readOnly = true)
    public Map<UUID, DirtyRateMeasurement> all() {
        List<DirtyRateMeasurement> rows = measurements.findAll();
        return rows.stream().collect(Collectors.toMap(DirtyRateMeasurement::guestId, Function.identity()));
    }

    /**
     * The guest's stored figures, if they may stand in for a measurement now: measured on
     * {@code hostId} over the same window no longer than {@code maxAge} ago, with the guest in
     * the state it is in now, and with at least {@code samplePagesPerGiB} (or by the dirty log,
     * which counts every page).
     */
    @Transactional(readOnly = true)
    public Optional<DirtyRateReport> fresh(UUID guestId, String hostId, long windowMs, int samplePagesPerGiB,
                                           Duration maxAge) {
        Instant now = clock.instant();
        Optional<Guest> guest = guests.findById(guestId);
        return measurements.findById(guestId)
                .filter(m -> m.hostId().equals(hostId) && m.windowMs() == windowMs)
                .filter(m -> m.mode() == DirtyRateMode.DIRTY_BITMAP || m.samplePagesPerGiB() >= samplePagesPerGiB)
                .flatMap(DirtyRateMeasurement::report)
                .filter(r -> !r.measuredAt().isBefore(now.minus(maxAge)))
                .filter(r -> guest.isPresent() && guest.get().state().apiName().equals(r.guestState()));
    }

    public Instant now() {
        return clock.instant();
    }

    @PreDestroy
    void stop() {
        runs.shutdownNow();
    }

    private void changed(Guest guest, GuestChange change) {
        recorder.record(new Payloads.GuestChanged(guest.id(), change, guest.hostId(), guest.state().apiName(),
                guest.activeJobId()));
    }
}
