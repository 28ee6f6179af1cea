package io.ferry.migration.outgoing;

import io.ferry.channel.AbandonReport;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.MigrationSettings;
import io.ferry.guest.GuestState;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.ConvergencePolicy;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PhaseMachine;
import io.ferry.migration.RateLimiter;
import io.ferry.migration.TransferMeter;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The source of one migration, run on its own thread: one loop driving the guest's parts, as
 * QEMU's migration thread drives its {@code SaveVMHandlers}. The live parts ({@link StreamPart}:
 * the disks' chunks with {@code storage: copy}, RAM) announce themselves at setup, send a bulk
 * round with everything once, then rounds of what the guest changed, until the rest fits in the
 * downtime limit at the measured bandwidth; then switchover: pause, the parts' last pass, and —
 * for a guest with disks — the hand-off ({@link Handoff}: flush and inactivate the images here,
 * then the control plane's compare-and-set to HANDOFF); then device state ({@link DevicePart}),
 * EOF, and the destination's SHUT. Or, asked to, post-copy: the same pause, discards instead of
 * the last pages, RUN, and the pages served from here ({@link PostcopySource}), paused while the
 * link is down ({@link PostcopyPause}).
 *
 * <p>This class holds the lifecycle ({@link OutgoingPhase}), the switchover rule and the pause's
 * accounting, the operator's requests, and the decisions a failure leaves: before the images were inactivated, the guest runs here as before.
 * After that, the source never resumes on a guess: it re-activates its images through the control
 * plane (which refuses if the destination's activation won — then the guest is handed over),
 * waiting with the guest paused for as long as the control plane cannot answer.
 */
public final class OutgoingMigration implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(OutgoingMigration.class);
    private static final long PROGRESS_EVERY_NANOS = 250_000_000L;
    private static final long SHUT_TIMEOUT_MS = 120_000;
    /** How long a migration ready to pause waits for another's pause before it sends one more round. */
    private static final long PAUSE_GATE_WAIT_MS = 100;

    /**
     * Parameters of one outgoing migration. {@code baseGenerations}: the generation, by disk id,
     * at which the control plane found each disk ACTIVE here when it started the job.
     */
    public record Spec(UUID jobId, String hostId, String destinationAddress, byte[] secret,
                       Map<String, Long> baseGenerations, Duration handoffTimeout, MigrationSettings settings,
                       boolean autoRecover) {
    }

    private final Spec spec;
    private final MigratingGuest migrating;
    private final SyntheticGuest guest;
    private final MigrationReporter reporter;
    /** Called once at the end with (jobId, handed over?): true means the destination runs the guest now. */
    private final BiConsumer<UUID, Boolean> finished;
    private final RateLimiter limiter;
    private volatile long downtimeLimitMs;
    private volatile boolean cancelRequested;
    /** Where this side is; what a failure may do with the guest follows from it (see {@link OutgoingPhase}). */
    private final PhaseMachine<OutgoingPhase> phases = new PhaseMachine<>("source", OutgoingPhase.SETUP,
            OutgoingPhase::next);
    /** Force-complete: the guest's workload held still until the migration ends here. */
    private final ForcedCompletion forced = new ForcedCompletion();
    /** Asked for by the operator (or the auto rule); honoured at the next round boundary or page run. */
    private volatile boolean postcopyRequested;

    // Counters, written by the migration thread only; the parts keep their own.
    private final long startNanos = System.nanoTime();
    private long setupMs;
    private long iterations;
    private Long expectedDowntimeMs;
    private Long downtimeMs;
    private long lastProgressNanos;
    /** What the pause costs besides the pages: counted by the switchover rule, then measured part by part. */
    private final PauseBudget pause = new PauseBudget();
    /** Why the pause overran the limit, for the job; empty when it did not. */
    private String overshoot = "";
    /** The host's one-pause-at-a-time gate; set before {@link #run}, a private one otherwise. */
    private PauseGate pauseGate = new PauseGate();
    /** This migration holds the gate: its pause is about to begin or running. */
    private boolean pausing;

    private final Channels channels;
    private final StreamWriter out;
    private final RamPart ram;
    private final DiskPart disks;
    /**
     * The live parts in QEMU's order for rounds and the last pass: the disks' chunks go before RAM,
     * as block migration's bulk phase does. (Their START sections go RAM first: see {@link #setup}.)
     */
    private final List<StreamPart> parts;
    private final DevicePart device;
    private final Handoff handoff;
    private final PostcopySource postcopy;
    private final PostcopyPause paused;
    /** QEMU's auto-converge: throttles the guest while it outruns the link; lifted when it stops here or the job ends. */
    private final AutoConvergence autoConverge;

    public OutgoingMigration(Spec spec, MigratingGuest migrating, EventLoopGroup group, MigrationReporter reporter,
                             OwnershipArbiter arbiter, FaultInjector faults, BiConsumer<UUID, Boolean> finished) {
        this.spec = spec;
        this.migrating = migrating;
        this.guest = migrating.guest();
        this.reporter = reporter;
        this.finished = finished;
        this.limiter = new RateLimiter(spec.settings().maxBandwidth());
        this.downtimeLimitMs = spec.settings().downtimeLimitMs();
        this.channels = new Channels(spec, group);
        this.ram = new RamPart(guest, XbzrlePages.of(spec.settings()));
        this.disks = new DiskPart(guest, spec.settings().copyImages(), pause);
        this.parts = List.of(disks, ram);
        this.device = new DevicePart(guest);
        this.out = new StreamWriter(channels, limiter, ram::pagesSent, () -> progressMaybe(false));
        this.handoff = new Handoff(spec, migrating, disks.disks(), arbiter, faults, phases, pause, channels, reporter,
                this::progress);
        this.postcopy = new PostcopySource(channels, out, ram, device, spec.settings().postcopy().maxBandwidth());
        this.paused = new PostcopyPause(spec, migrating, disks.disks(), phases, channels, postcopy, handoff, reporter,
                this::progress);
        this.autoConverge = new AutoConvergence(guest, spec.settings().convergence().autoConverge());
    }

    public UUID jobId() {
        return spec.jobId();
    }

    /**
     * This worker's data-plane security (TLS with its certificate, or plain); call before {@link #run}.
     * Every connection of the job (main, preempt, and those of a recovery) uses it.
     */
    public void secureWith(DataPlaneSecurity security) {
        channels.secureWith(security);
    }

    /** Pauses one at a time with the other migrations that share {@code gate} (the host's); call before {@link #run}. */
    public void pauseThrough(PauseGate gate) {
        this.pauseGate = java.util.Objects.requireNonNull(gate, "gate");
    }

    /** Counts this migration's bytes into {@code meter} (the worker's, shared by its migrations); call before {@link #run}. */
    public void countInto(TransferMeter meter) {
        out.countInto(meter);
    }

    /** Takes effect from the next rate window and the next convergence check. */
    public void tune(long maxBandwidth, long downtimeLimitMs) {
        limiter.setLimit(maxBandwidth);
        this.downtimeLimitMs = downtimeLimitMs;
    }

    /**
     * Switches a running pre-copy to post-copy at the next safe point. False when the job has no
     * post-copy capability or its switchover has begun.
     */
    public synchronized boolean startPostcopy() {
        if (!spec.settings().postcopy().enabled() || phases.current().committed()) {
            return false;
        }
        postcopyRequested = true;
        return true;
    }

    /**
     * Nova's force-complete: holds the guest's workload still, so it stops dirtying memory and
     * disks and the pre-copy converges; the guest keeps its state (see {@link ForcedCompletion}),
     * runs on the destination after the switchover, and runs here again if the job fails or is
     * cancelled. False once the switchover or post-copy has begun, or after a cancel; true again
     * when already forced.
     */
    public synchronized boolean forceComplete() {
        if (phases.current().committed() || postcopyRequested || cancelRequested) {
            return false;
        }
        return forced.force(guest);
    }

    /**
     * Turns auto-converge on for a running pre-copy (an escalation step): from the next round the
     * guest is throttled whenever it outruns the link. False once the switchover or post-copy has
     * begun, or after a cancel; true when already on.
     */
    public synchronized boolean enableAutoConverge() {
        if (phases.current().committed() || postcopyRequested || cancelRequested) {
            return false;
        }
        return autoConverge.enable();
    }

    /** Turns auto-converge off: the guest runs unthrottled from now on. */
    public void disableAutoConverge() {
        autoConverge.disable();
    }

    /**
     * Retries a paused post-copy's link now instead of at the next back-off step; in active
     * post-copy, the pause this side has not noticed yet retries at once. False when the
     * migration is not in post-copy.
     */
    public boolean recover() {
        return paused.requestRecover();
    }

    /**
     * An admin's way out of a stranded post-copy, keeping the guest here: the destination's worker
     * is gone, and the control plane has moved the disks back here ({@code generations}, by disk
     * id) and failed the job. The migration thread stops retrying the link for good, activates the
     * images at those generations (as a fail-back does), lets the guest run as before the migration
     * (running if it was running) and ends without another report; the future answers then. A
     * repeat gets the same future: the first decision stands.
     *
     * @throws IllegalStateException unless post-copy is paused (still active, not in post-copy, or ended)
     * @throws IllegalArgumentException if a disk of the guest has no generation in {@code generations}
     */
    public CompletableFuture<AbandonReport> abandonPostcopy(String reason, Map<String, Long> generations) {
        return paused.abandon(reason, generations);
    }

    /** Returns false when it is too late: the switchover has begun and the destination may run the guest. */
    public synchronized boolean cancel() {
        if (phases.current().committed()) {
            return false;
        }
        cancelRequested = true;
        return true;
    }

    /** The point of no cancel: atomic with {@link #cancel()}, so exactly one of them wins. */
    private synchronized void commitToSwitchover() {
        checkCancel();
        phases.moveTo(OutgoingPhase.SWITCHOVER);
    }

    /** The phase this side is in now. */
    public OutgoingPhase phase() {
        return phases.current();
    }

    /** Ends the lifecycle, unless a settled post-copy ended it already. */
    private void finish(OutgoingPhase end) {
        if (!phases.current().terminal()) {
            phases.moveTo(end);
        }
    }

    @Override
    public void run() {
        MDC.put("jobId", spec.jobId().toString());
        GuestState before = guest.state();
        boolean handedOver = false;
        OutgoingPhase end = OutgoingPhase.FAILED;
        try {
            handoff.checkGenerations();
            channels.openMain();
            postcopy.open();
            channels.openMultifd();
            migrating.changeState(GuestState.MIGRATING_OUT);
            setup();
            phases.moveTo(OutgoingPhase.BULK);
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.ACTIVE, "pre-copy started", progress(),
                    null));
            iterate();
            if (postcopyRequested) {
                if (!postcopy(before)) {
                    // the guest came back here through the control plane: failBack reported it; an abandoned
                    // job is failed there already, and nothing more is reported for it
                    return;
                }
            } else {
                switchOver(before);
            }
            handedOver = true;
            end = OutgoingPhase.COMPLETED;
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.COMPLETED, phases.current().postcopy()
                    ? "post-copy complete: every page is on the destination (" + postcopy.requestsServed()
                    + " requested, " + postcopy.recoveries() + " recoveries; " + downtimeMs
                    + " ms of downtime at the switch)"
                    : "destination resumed the guest after " + downtimeMs + " ms of downtime" + overshoot
                    + forced.describe(),
                    progress(), null));
            log.info("migration completed: {} bytes in {} ms, {} iterations, downtime {} ms", out.transferred(),
                    elapsedMs(), iterations, downtimeMs);
        } catch (Cancelled c) {
            end = OutgoingPhase.CANCELLED;
            restore(before);
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.CANCELLED,
                    "cancelled; the guest keeps running on the source", progress(), migrating.report()));
            log.info("migration cancelled; guest stays here");
        } catch (InterruptedException e) {
            if (phases.current().postcopy()) {
                // the destination may run the guest: this side's part of it goes with this worker
                reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_PAUSED, "the source worker "
                        + "is stopping during post-copy: the pages the destination still lacks go with it", progress(),
                        null));
                return;
            }
            // fenced disks (or a stream the destination may have taken whole) come back only by decision
            boolean mayResume = phases.current().compareTo(OutgoingPhase.HANDOFF) < 0;
            if (mayResume) {
                restore(before);
            }
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, "worker is stopping",
                    progress(), mayResume ? migrating.report() : null));
        } catch (RuntimeException e) {
            String reason = e instanceof MigrationFailure ? e.getMessage() : e.toString();
            if (handedOver) {
                log.error("migration completed, but reporting it failed: {}", reason, e);
            } else if (phases.current().postcopy()) {
                // Both hosts hold parts of the only copy: never resume here, never drop anything.
                reason = "post-copy broken after the destination was told to run the guest (" + reason + "): the "
                        + "guest stays paused here with the pages the destination still lacks";
                reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, reason, progress(), null));
                log.error("migration {}", reason);
            } else if (phases.is(OutgoingPhase.HANDOFF) && disks.any()) {
                handedOver = handoff.failBack(reason, () -> restore(before));
                end = handedOver ? OutgoingPhase.COMPLETED : OutgoingPhase.FAILED;
            } else if (phases.is(OutgoingPhase.HANDOFF) && !(e instanceof DestinationRefused)) {
                // Both sides may hold the guest: never resume it here on a guess. It stays paused.
                reason = "outcome unknown after the whole stream was sent (" + reason + "): the guest stays paused "
                        + "on the source; check whether the destination runs it before resuming either copy";
                reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, reason, progress(),
                        migrating.report()));
                log.error("migration {}", reason);
            } else {
                restore(before);
                reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, reason, progress(),
                        migrating.report()));
                log.warn("migration failed, guest stays here: {}", reason, e instanceof MigrationFailure ? null : e);
            }
        } finally {
            out.release();
            leavePauseGate();
            channels.close();
            forced.end();   // the guest's state decides from here: paused, handed over, or running as before
            autoConverge.end("the migration ended");
            finish(end);
            paused.answerAbandonment();
            finished.accept(spec.jobId(), handedOver);
            MDC.remove("jobId");
        }
    }

    private void leavePauseGate() {
        if (pausing) {
            pausing = false;
            pauseGate.leave();
        }
    }

    private void restore(GuestState before) {
        autoConverge.end("the guest goes on here");
        if (!guest.memory().isClosed() && guest.state() != before) {
            migrating.changeState(before == GuestState.PAUSED ? GuestState.PAUSED : GuestState.RUNNING);
        }
        forced.end();   // a guest forced to complete goes on as before the force
    }

    /** Header, configuration, each live part's START section; then every page and chunk is due once. */
    private void setup() throws InterruptedException {
        out.start();
        StreamEncoder.header(out.batch(), StreamFormat.MACHINE_TYPE);
        if (spec.settings().postcopy().enabled()) {
            StreamEncoder.postcopyAdvise(out.batch());
        }
        // RAM's block list goes first, as it always has in Ferry's stream (the rounds go disks first)
        for (StreamPart part : List.of(ram, disks)) {
            part.setup(out);
        }
        out.flush(true);
        if (spec.settings().verifyChecksums()) {
            pause.verifying(guest.memory().totalBytes() + disks.imageBytes());
        }
        if (disks.any()) {
            pause.withDisks();
        }
        setupMs = elapsedMs();
    }

    /**
     * QEMU's migration_iteration_run, until the switchover rule holds (or post-copy is asked for):
     * one round of every part, then a sync of every part for the bytes still due.
     */
    private void iterate() throws InterruptedException {
        BandwidthWindow bandwidth = out.bandwidth();
        long previousPending = Long.MAX_VALUE;
        while (true) {
            checkCancel();
            if (spec.settings().postcopy().enabled() && spec.settings().postcopy().afterIterations() > 0
                    && iterations >= spec.settings().postcopy().afterIterations()) {
                postcopyRequested = true;
            }
            if (postcopyRequested) {
                return;
            }
            long roundStart = System.nanoTime();
            long roundBytes = out.transferred();
            long roundPages = out.pagesSent();
            for (StreamPart part : parts) {
                part.iterate(out, this::stopRound);
            }
            iterations++;
            if (iterations == 1) {
                phases.moveTo(OutgoingPhase.ITERATE);
                handoff.measureControlPlane();
            }
            bandwidth.seedFromRound(out.transferred() - roundBytes, System.nanoTime() - roundStart,
                    out.pagesSent() - roundPages);
            long pending = 0;
            for (StreamPart part : parts) {
                pending += part.sync();
            }
            double bytesPerMs = bandwidth.bytesPerMs();
            long fixedMs = pause.fixedMs();
            long pagesBudgetMs = ConvergencePolicy.pagesBudgetMs(downtimeLimitMs, fixedMs);
            expectedDowntimeMs = ConvergencePolicy.expectedDowntimeMs(pending, bytesPerMs) == Long.MAX_VALUE
                    ? Long.MAX_VALUE : ConvergencePolicy.expectedDowntimeMs(pending, bytesPerMs) + fixedMs;
            autoConverge.afterSync(iterations, ram.remainingPages() * StreamFormat.PAGE_SIZE, out.transferred());
            progressMaybe(true);
            if (ConvergencePolicy.canSwitchOver(true, pending, bytesPerMs, pagesBudgetMs)) {
                if (!pauseGate.tryEnter(PAUSE_GATE_WAIT_MS)) {
                    log.debug("another migration's pause runs on this host: one more round meanwhile");
                    previousPending = pending;
                    continue;
                }
                pausing = true;
                if (fixedMs > downtimeLimitMs) {
                    log.warn("the pause will overrun the {} ms downtime limit: its fixed part alone (checksums, "
                            + "hand-off) takes about {} ms", downtimeLimitMs, fixedMs);
                }
                return;
            }
            if (spec.settings().postcopy().enabled() && spec.settings().postcopy().whenNotConverging()
                    && ConvergencePolicy.willNotConverge((int) iterations, previousPending, pending, bytesPerMs,
                    pagesBudgetMs)) {
                log.info("pre-copy will not converge ({} bytes left after round {}, {} before): switching to post-copy",
                        pending, iterations, previousPending);
                postcopyRequested = true;
            }
            previousPending = pending;
        }
    }

    /** Between runs of a round: a cancel ends the migration; a request for post-copy ends the round. */
    private boolean stopRound() {
        checkCancel();
        return postcopyRequested;
    }

    private void switchOver(GuestState before) throws InterruptedException {
        commitToSwitchover();
        long downtimeStart = System.nanoTime();
        pause.paused();
        migrating.changeState(GuestState.PAUSED);
        autoConverge.end("the guest paused for the switchover");
        for (StreamPart part : parts) {
            part.completePrecopy(out);
        }
        pause.took(PauseBudget.Part.LAST_PAGES);
        if (disks.any()) {
            handoff.handOff();
            pause.took(PauseBudget.Part.HANDOFF);
        }
        if (spec.settings().verifyChecksums()) {
            device.verify(out);
            pause.took(PauseBudget.Part.VERIFICATION);
        }
        device.completePrecopy(out, before);
        StreamEncoder.eof(out.batch());
        out.flush(false);
        pause.took(PauseBudget.Part.DEVICE_STATE);
        if (!disks.any()) {
            // the whole stream is out: from here only the destination's explicit refusal gives the guest back
            phases.moveTo(OutgoingPhase.HANDOFF);
        }
        OutgoingConnection main = channels.main();
        int status = main.awaitShut(SHUT_TIMEOUT_MS);
        if (status != 0) {
            String reason = main.destinationReason();
            throw new DestinationRefused("destination rejected the stream (return-path SHUT " + status + ")"
                    + (reason == null ? "" : ": " + reason));
        }
        pause.took(PauseBudget.Part.DESTINATION);
        downtimeMs = (System.nanoTime() - downtimeStart) / 1_000_000;
        leavePauseGate();
        if (downtimeMs > downtimeLimitMs) {
            overshoot = ", over the " + downtimeLimitMs + " ms limit: " + pause.explain();
            log.warn("downtime {} ms{}", downtimeMs, overshoot);
        }
    }

    /**
     * QEMU's post-copy switch: pause; the parts that cannot post-copy (the disks) complete; the
     * pages to be sent again as discards; the disk hand-off; LISTEN, run state, device state, RUN —
     * from here the destination runs the guest. Then {@link PostcopySource} serves the pages it
     * asks for and pushes the rest; a broken link pauses post-copy until it is back.
     */
    private boolean postcopy(GuestState before) throws InterruptedException {
        commitToSwitchover();
        postcopy.switching();
        long downtimeStart = System.nanoTime();
        migrating.changeState(GuestState.PAUSED);
        autoConverge.end("the guest paused for post-copy");
        ram.syncForPostcopy();   // every page still to send: the discards, then post-copy's work
        for (StreamPart part : parts) {
            if (part != ram) {
                part.completePrecopy(out);   // only RAM post-copies (QEMU's save_live_complete_postcopy)
            }
        }
        ram.writeDiscards(out);
        if (disks.any()) {
            handoff.handOff();
        }
        device.listenAndRun(out, before);
        // From the first byte of RUN on, the destination may run the guest: never resume it here again.
        phases.moveTo(OutgoingPhase.POSTCOPY_ACTIVE);
        try {
            out.flush(false);
            downtimeMs = (System.nanoTime() - downtimeStart) / 1_000_000;
            postcopy.switched();
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_ACTIVE,
                    "post-copy: the destination runs the guest and asks for the pages it lacks", progress(), null));
            log.info("post-copy running after {} ms of downtime; {} pages to go", downtimeMs, ram.remainingPages());
        } catch (MigrationFailure broken) {
            if (channels.main().refusedByDestination()) {
                throw broken;   // the destination refused the switch (e.g. its device state check): its verdict
            }
            downtimeMs = (System.nanoTime() - downtimeStart) / 1_000_000;
            postcopy.switched();
            PostcopyPause.Outcome outcome = paused.await(broken.getMessage(), () -> restore(before));
            if (outcome != PostcopyPause.Outcome.RECOVERED) {
                return outcome == PostcopyPause.Outcome.HANDED_OVER;
            }
        }
        boolean afterRecovery = false;
        while (true) {
            try {
                postcopy.push(afterRecovery);
                return true;
            } catch (MigrationFailure broken) {
                if (channels.main().refusedByDestination()) {
                    throw broken;   // the destination's verdict, not a broken link
                }
                PostcopyPause.Outcome outcome = paused.await(broken.getMessage(), () -> restore(before));
                if (outcome != PostcopyPause.Outcome.RECOVERED) {
                    return outcome == PostcopyPause.Outcome.HANDED_OVER;
                }
                afterRecovery = true;
            }
        }
    }

    private void progressMaybe(boolean force) {
        long now = System.nanoTime();
        if (force || now - lastProgressNanos >= PROGRESS_EVERY_NANOS) {
            lastProgressNanos = now;
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.PROGRESS, null, progress(), null));
        }
    }

    private void checkCancel() {
        if (cancelRequested) {
            throw new Cancelled();
        }
    }

    private long elapsedMs() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** A snapshot of QEMU's query-migrate figures, assembled from the parts' counters. */
    public MigrationProgress progress() {
        long totalMs = elapsedMs();
        double seconds = Math.max((totalMs - setupMs) / 1000.0, 0.001);
        long totalBytes = guest.memory().isClosed() ? 0 : guest.memory().totalBytes();
        long transferred = out.transferred();
        return new MigrationProgress(setupMs, totalMs, expectedDowntimeMs, downtimeMs,
                new MigrationProgress.Ram(totalBytes, transferred, ram.remainingPages() * StreamFormat.PAGE_SIZE,
                        ram.duplicate(), ram.normal(), ram.normal() * StreamFormat.PAGE_SIZE, ram.dirtyPagesRate(),
                        transferred * 8 / seconds / 1e6, ram.dirtySyncCount(), out.bandwidth().pagesPerSecond(),
                        iterations),
                disks.progress(), postcopy.progress(transferred), device.verification(), channels.dataPlane(),
                MigrationProgress.Convergence.of(autoConverge.figures(), ram.xbzrleProgress(),
                        channels.compressionProgress()));
    }

    /** The destination's explicit refusal of the stream (SHUT non-zero): the guest may safely run here again. */
    private static final class DestinationRefused extends MigrationFailure {
        DestinationRefused(String message) {
            super(message);
        }
    }

    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled", null, false, false);
        }
    }
}
