package io.ferry.migration.outgoing;

import io.ferry.channel.OwnershipState;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.HandoffStep;
import io.ferry.channel.AbandonReport;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.DirtyBitmap;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.ConvergencePolicy;
import io.ferry.migration.FerrySections;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.RateLimiter;
import io.ferry.migration.TransferMeter;
import io.ferry.channel.OwnershipStep;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PhaseMachine;
import java.time.Duration;
import java.util.Map;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.migration.transport.TlsSession;
import io.ferry.wire.Handshake;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import io.ferry.wire.ReturnPathMessage;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The source of one pre-copy migration, run on its own thread, following QEMU: setup (header,
 * RAM block list, and with {@code storage: copy} the {@code block} section), a bulk round that
 * sends every image chunk and every page once (zero chunks and zero pages as headers only),
 * then rounds of "sync the dirty logs, send what changed" until the rest fits in the downtime
 * limit at the measured bandwidth; then switchover: pause, final sync, last chunks and pages,
 * and — for a guest with disks — the hand-off: flush and inactivate the images here, then the
 * control plane's compare-and-set to HANDOFF; then device state, EOF, and the destination's SHUT.
 *
 * <p>Failure before the images were inactivated leaves the guest running here as before. After
 * that, the source never resumes on a guess: it re-activates its images through the control
 * plane (which refuses if the destination's activation won — then the guest is handed over),
 * waiting with the guest paused for as long as the control plane cannot answer.
 */
public final class OutgoingMigration implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(OutgoingMigration.class);
    /**
     * 255 pages. No more than Netty's allocator pools (1 MiB): a larger batch was a fresh, zeroed
     * direct allocation every time. An image chunk read into the batch (one that starts with zeros;
     * the others go by sendfile) does not fit with its header: ensureRoom grows that batch.
     */
    private static final int BATCH_BYTES = 1 << 20;
    private static final int RUN_PAGES = 64;
    private static final long PROGRESS_EVERY_NANOS = 250_000_000L;
    private static final long HANDSHAKE_TIMEOUT_MS = 10_000;
    private static final long SHUT_TIMEOUT_MS = 120_000;
    private static final int RAM_SECTION_ID = 1;
    private static final int DEVICE_SECTION_ID = 2;
    private static final int VERIFY_SECTION_ID = 3;
    private static final int RUN_STATE_SECTION_ID = 4;
    private static final int BLOCK_SECTION_ID = 5;
    private static final Duration REACTIVATE_RETRY = Duration.ofSeconds(10);
    /** Post-copy recovery: first retry after this, doubling up to {@link #RECOVER_BACKOFF_MAX_MS}. */
    private static final long RECOVER_BACKOFF_FIRST_MS = 500;
    private static final long RECOVER_BACKOFF_MAX_MS = 10_000;
    private static final long RECOVER_ANSWER_TIMEOUT_MS = 10_000;
    /** Post-copy: how long the push parks for a full main socket before it looks again (a wake-up ends it sooner). */
    private static final long WRITABLE_POLL_NANOS = 10_000_000L;
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
    private final EventLoopGroup group;
    private final MigrationReporter reporter;
    private final OwnershipArbiter arbiter;
    private final FaultInjector faults;
    private final List<DiskChunks> disks;
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
    private final LinkedBlockingQueue<ReturnPathMessage.RequestPages> requests = new LinkedBlockingQueue<>();
    /** Post-copy's background push, held to the job's max-postcopy-bandwidth. */
    private final RateLimiter postcopyLimiter;
    /** Guarded by this: an operator's (or control plane's) request to retry the link now. */
    private boolean recoverRequested;

    /**
     * An admin's decision to end a paused post-copy and keep the guest here: the generations the
     * control plane granted this host's images, and the answer once the migration thread acted.
     */
    private record Abandonment(String reason, Map<String, Long> generations, CompletableFuture<AbandonReport> done) {
    }

    /** Guarded by this: set once by {@link #abandonPostcopy}; the paused migration thread honours it. */
    private Abandonment abandonment;
    /** The destination's answers during a recovery: its received-pages bitmaps, by block, and RESUME_ACK. */
    private final Map<String, long[]> receivedBitmaps = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile CompletableFuture<Void> bitmapsComplete;
    private volatile CompletableFuture<Void> resumeAcked;
    private long recoveries;
    /** What the switch to post-copy sent with RUN, sent again after a recovery. */
    private byte[] switchedDeviceState;
    private String switchedRunState;
    private long postcopyRequests;
    private long bytesBeforePause;
    private long bytesDuringPause;

    // Counters, written by the migration thread only.
    private final long startNanos = System.nanoTime();
    private long setupMs;
    private long transferred;
    private long duplicate;
    private long normal;
    private long dirtySyncCount;
    private long iterations;
    private long remainingPages;
    private long dirtyPagesRate;
    private Long expectedDowntimeMs;
    private Long downtimeMs;
    private MigrationProgress.Verification verification;
    private long lastProgressNanos;
    private final BandwidthWindow bandwidth = new BandwidthWindow();
    /** What the pause costs besides the pages: counted by the switchover rule, then measured part by part. */
    private final PauseBudget pause = new PauseBudget();
    /** Why the pause overran the limit, for the job; empty when it did not. */
    private String overshoot = "";
    /** The host's one-pause-at-a-time gate; set before {@link #run}, a private one otherwise. */
    private PauseGate pauseGate = new PauseGate();
    /** This migration holds the gate: its pause is about to begin or running. */
    private boolean pausing;
    private long diskTransferred;
    private long diskRemainingChunks;
    /** The worker's byte counts, by kind; set before {@link #run} (a start of the thread publishes it). */
    private TransferMeter meter = new TransferMeter();

    private OutgoingConnection connection;
    /** QEMU's multifd channels, null when pages go on the main stream (one channel, or a job that may post-copy). */
    private MultifdSender multifd;
    /** Set before {@link #run} (a start of the thread publishes it). */
    private DataPlaneSecurity security = DataPlaneSecurity.plain();
    /** How the main connection is protected, for the job's view; null until it is open. */
    private volatile MigrationProgress.DataPlane dataPlane;
    private RamRecordWriter records;
    private ByteBuf batch;
    /**
     * Post-copy's preempt channel (QEMU's postcopy-preempt), null without one: requested pages go
     * there, so they never wait behind background pages in the main channel's buffers; the
     * destination sends its page requests on its return path. Opened with the main connection
     * when the job may post-copy, again after a recovery.
     */
    private OutgoingConnection preempt;
    /** The preempt channel's own "last block" for CONTINUE. */
    private RamRecordWriter preemptRecords;
    /** Requested pages on their way to the preempt channel; null when empty. */
    private ByteBuf urgent;
    /** The thread running this migration: a page request or a drained socket wakes it ({@link LockSupport#unpark}). */
    private volatile Thread migrationThread;

    public OutgoingMigration(Spec spec, MigratingGuest migrating, EventLoopGroup group, MigrationReporter reporter,
                             OwnershipArbiter arbiter, FaultInjector faults, BiConsumer<UUID, Boolean> finished) {
        this.spec = spec;
        this.migrating = migrating;
        this.guest = migrating.guest();
        this.group = group;
        this.reporter = reporter;
        this.arbiter = arbiter;
        this.faults = faults;
        this.finished = finished;
        this.disks = guest.spec().disks().stream()
                .map(d -> new DiskChunks(guest.disk(d.diskId()), d.diskId())).toList();
        this.limiter = new RateLimiter(spec.settings().maxBandwidth());
        this.postcopyLimiter = new RateLimiter(spec.settings().postcopy().maxBandwidth());
        this.downtimeLimitMs = spec.settings().downtimeLimitMs();
    }

    public UUID jobId() {
        return spec.jobId();
    }

    /**
     * This worker's data-plane security (TLS with its certificate, or plain); call before {@link #run}.
     * Every connection of the job (main, preempt, and those of a recovery) uses it.
     */
    public void secureWith(DataPlaneSecurity security) {
        this.security = java.util.Objects.requireNonNull(security, "security");
    }

    /** Pauses one at a time with the other migrations that share {@code gate} (the host's); call before {@link #run}. */
    public void pauseThrough(PauseGate gate) {
        this.pauseGate = java.util.Objects.requireNonNull(gate, "gate");
    }

    /** Counts this migration's bytes into {@code meter} (the worker's, shared by its migrations); call before {@link #run}. */
    public void countInto(TransferMeter meter) {
        this.meter = meter;
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
     * Retries a paused post-copy's link now instead of at the next back-off step. False when the
     * migration is not paused.
     */
    public synchronized boolean recover() {
        if (!phases.is(OutgoingPhase.POSTCOPY_PAUSED)) {
            return false;
        }
        recoverRequested = true;
        notifyAll();
        return true;
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
    public synchronized CompletableFuture<AbandonReport> abandonPostcopy(String reason, Map<String, Long> generations) {
        if (abandonment != null) {
            return abandonment.done();
        }
        if (!phases.is(OutgoingPhase.POSTCOPY_PAUSED)) {
            throw new IllegalStateException("migration " + spec.jobId() + " is not a paused post-copy");
        }
        for (DiskChunks disk : disks) {
            Long granted = generations.get(disk.device());
            if (granted == null || granted < 1) {
                throw new IllegalArgumentException("no generation granted for disk " + disk.device());
            }
        }
        abandonment = new Abandonment(reason, Map.copyOf(generations), new CompletableFuture<>());
        notifyAll();   // the paused thread's back-off wait ends now
        return abandonment.done();
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
            migrationThread = Thread.currentThread();
            checkGenerations();
            connection = openMain();
            openPreempt();
            multifd = openMultifd();
            records = new RamRecordWriter();
            migrating.changeState(GuestState.MIGRATING_OUT);
            List<RamBlock> blocks = guest.memory().blocks();
            long[][] toSend = setup(blocks);
            phases.moveTo(OutgoingPhase.BULK);
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.ACTIVE, "pre-copy started", progress(),
                    null));
            iterate(blocks, toSend);
            if (postcopyRequested) {
                if (!postcopy(blocks, toSend, before)) {
                    // the guest came back here through the control plane: failBack reported it; an abandoned
                    // job is failed there already, and nothing more is reported for it
                    return;
                }
            } else {
                switchOver(blocks, toSend, before);
            }
            handedOver = true;
            end = OutgoingPhase.COMPLETED;
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.COMPLETED, phases.current().postcopy()
                    ? "post-copy complete: every page is on the destination (" + postcopyRequests + " requested, "
                    + recoveries + " recoveries; " + downtimeMs + " ms of downtime at the switch)"
                    : "destination resumed the guest after " + downtimeMs + " ms of downtime" + overshoot
                    + forced.describe(),
                    progress(), null));
            log.info("migration completed: {} bytes in {} ms, {} iterations, downtime {} ms", transferred,
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
            } else if (phases.is(OutgoingPhase.HANDOFF) && !disks.isEmpty()) {
                handedOver = failBack(reason, before);
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
            if (batch != null) {
                batch.release();
                batch = null;
            }
            if (urgent != null) {
                urgent.release();
                urgent = null;
            }
            leavePauseGate();
            closeConnections();
            forced.end();   // the guest's state decides from here: paused, handed over, or running as before
            finish(end);
            answerAbandonment();
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

    /** The disks must be here, active, at the generations the control plane started the job with. */
    private void checkGenerations() {
        for (DiskChunks disk : disks) {
            Long base = spec.baseGenerations().get(disk.device());
            if (base == null || disk.image().activeGeneration() != base) {
                throw new MigrationFailure("disk " + disk.device() + " is active here at generation "
                        + disk.image().activeGeneration() + ", but the control plane started the job at " + base);
            }
        }
    }

    /**
     * After the images were inactivated, the guest may run here again only if the control plane
     * re-activates them here. Closes the stream first (the destination must not get the rest),
     * then asks until it gets an answer. Returns true if the destination's activation had won:
     * the guest is handed over.
     */
    private boolean failBack(String reason, GuestState before) {
        closeConnections();
        log.warn("hand-off did not complete ({}); re-activating the disks here through the control plane", reason);
        try {
            while (true) {
                OwnershipArbiter.Answer answer = arbiter.step(spec.jobId(), HandoffStep.REACTIVATE,
                        spec.baseGenerations(), REACTIVATE_RETRY);
                switch (answer.verdict()) {
                    case GRANTED -> {
                        guest.activateDisks(answer.generations());
                        restore(before);
                        String why = reason + "; the source re-activated its disks at generation "
                                + answer.generations().values() + " and keeps the guest";
                        reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, why, progress(),
                                migrating.report()));
                        log.warn("migration failed, guest stays here: {}", why);
                        return false;
                    }
                    case REFUSED -> {
                        OwnershipArbiter.Answer now = arbiter.read(spec.jobId(), REACTIVATE_RETRY);
                        boolean destinationOwns = now.verdict() == OwnershipArbiter.Verdict.GRANTED
                                && !now.disks().isEmpty() && now.disks().stream().allMatch(
                                d -> d.state() == OwnershipState.ACTIVE && !d.ownerHostId().equals(spec.hostId()));
                        if (destinationOwns) {
                            String why = "the destination activated the disks " + now.disks() + " (" + reason
                                    + " afterwards): the guest runs there";
                            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.COMPLETED, why,
                                    progress(), null));
                            log.info("migration completed: {}", why);
                            return true;
                        }
                        String why = reason + "; the control plane refused to re-activate the disks here ("
                                + answer.detail() + "): the guest stays paused and fenced";
                        reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, why, progress(),
                                migrating.report()));
                        log.error("migration {}", why);
                        return false;
                    }
                    case UNREACHABLE -> log.warn("control plane unreachable; the guest stays paused, disks fenced, "
                            + "until it answers: {}", answer.detail());
                }
            }
        } catch (InterruptedException stopping) {
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, reason
                    + "; worker stopped before the disks could be re-activated: the guest stays paused and fenced",
                    progress(), migrating.report()));
            return false;
        }
    }

    private void restore(GuestState before) {
        if (!guest.memory().isClosed() && guest.state() != before) {
            migrating.changeState(before == GuestState.PAUSED ? GuestState.PAUSED : GuestState.RUNNING);
        }
        forced.end();   // a guest forced to complete goes on as before the force
    }

    /** Header, configuration, the RAM block list; every page starts out to be sent. */
    private long[][] setup(List<RamBlock> blocks) throws InterruptedException {
        batch = connection.alloc().directBuffer(BATCH_BYTES);
        StreamEncoder.header(batch, StreamFormat.MACHINE_TYPE);
        if (spec.settings().postcopy().enabled()) {
            StreamEncoder.postcopyAdvise(batch);
        }
        StreamEncoder.sectionStart(batch, StreamFormat.SECTION_START, RAM_SECTION_ID, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(batch, blocks.stream().map(b -> new RamBlockInfo(b.name(), b.sizeBytes())).toList());
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, RAM_SECTION_ID);
        if (spec.settings().copyImages() && !disks.isEmpty()) {
            StreamEncoder.sectionStart(batch, StreamFormat.SECTION_START, BLOCK_SECTION_ID, StreamFormat.BLOCK_SECTION,
                    0, StreamFormat.BLOCK_SECTION_VERSION);
            StreamEncoder.blockEos(batch);
            StreamEncoder.footer(batch, BLOCK_SECTION_ID);
            disks.forEach(DiskChunks::markAll);
            diskRemainingChunks = disks.stream().mapToLong(DiskChunks::pending).sum();
        }
        flush(true);
        long[][] toSend = new long[blocks.size()][];
        for (int i = 0; i < blocks.size(); i++) {
            DirtyBitmap all = new DirtyBitmap(blocks.get(i).pageCount());
            all.markAll();
            toSend[i] = new long[all.wordCount()];
            all.syncAndClear(toSend[i]);
            // Writes from here on show up in the guest's dirty log and are sent in a later round.
            guest.dirtyLog(blocks.get(i).name()).syncAndClear(new long[toSend[i].length]);
        }
        // QEMU's count: every page is dirty before the bulk round, and each page sent is one fewer
        remainingPages = blocks.stream().mapToLong(RamBlock::pageCount).sum();
        if (spec.settings().verifyChecksums()) {
            pause.verifying(guest.memory().totalBytes() + disks.stream().mapToLong(d -> d.image().sizeBytes()).sum());
        }
        if (!disks.isEmpty()) {
            pause.withDisks();
        }
        setupMs = elapsedMs();
        return toSend;
    }

    private void iterate(List<RamBlock> blocks, long[][] toSend) throws InterruptedException {
        long lastSync = System.nanoTime();
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
            long roundBytes = transferred;
            sendDiskRound(StreamFormat.SECTION_PART, true);
            long pages = sendRound(blocks, toSend, StreamFormat.SECTION_PART, true);
            iterations++;
            if (iterations == 1) {
                phases.moveTo(OutgoingPhase.ITERATE);
                measureControlPlane();
            }
            long roundNanos = System.nanoTime() - roundStart;
            roundBytes = transferred - roundBytes;
            bandwidth.seedFromRound(roundBytes, roundNanos, pages);
            long now = System.nanoTime();
            remainingPages = sync(blocks, toSend);
            diskRemainingChunks = syncDisks();
            flushDisks();
            dirtyPagesRate = (long) (remainingPages / Math.max((now - lastSync) / 1e9, 1e-3));
            lastSync = now;
            long pending = remainingPages * StreamFormat.PAGE_SIZE
                    + diskRemainingChunks * StreamFormat.BLOCK_CHUNK_BYTES;
            double bytesPerMs = bandwidth.bytesPerMs();
            long fixedMs = pause.fixedMs();
            long pagesBudgetMs = ConvergencePolicy.pagesBudgetMs(downtimeLimitMs, fixedMs);
            expectedDowntimeMs = ConvergencePolicy.expectedDowntimeMs(pending, bytesPerMs) == Long.MAX_VALUE
                    ? Long.MAX_VALUE : ConvergencePolicy.expectedDowntimeMs(pending, bytesPerMs) + fixedMs;
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

    private void switchOver(List<RamBlock> blocks, long[][] toSend, GuestState before) throws InterruptedException {
        commitToSwitchover();
        long downtimeStart = System.nanoTime();
        pause.paused();
        migrating.changeState(GuestState.PAUSED);
        remainingPages = sync(blocks, toSend);   // every page still marked: sync counts them all
        diskRemainingChunks = syncDisks();
        sendDiskRound(StreamFormat.SECTION_END, false);
        StreamEncoder.sectionPart(batch, StreamFormat.SECTION_END, RAM_SECTION_ID);
        sendRound(blocks, toSend, StreamFormat.SECTION_END, false);
        remainingPages = 0;
        pause.took(PauseBudget.Part.LAST_PAGES);
        if (!disks.isEmpty()) {
            handOff();
            pause.took(PauseBudget.Part.HANDOFF);
        }
        if (spec.settings().verifyChecksums()) {
            GuestChecksums sums = guest.checksums();
            List<String> diskDigests = sums.disks().stream().map(GuestChecksums.DiskChecksum::sha256).toList();
            verification = new MigrationProgress.Verification(sums.memory(), null, sums.deviceState(), null,
                    diskDigests, null);
            ensureRoom(512 + 65 * diskDigests.size());
            FerrySections.verify(batch, VERIFY_SECTION_ID,
                    new FerrySections.Digests(sums.memory(), sums.deviceState(), diskDigests));
            pause.took(PauseBudget.Part.VERIFICATION);
        }
        byte[] device = guest.deviceState();
        ensureRoom(device.length + 512);
        FerrySections.runState(batch, RUN_STATE_SECTION_ID, before == GuestState.PAUSED ? "paused" : "running");
        StreamEncoder.deviceState(batch, DEVICE_SECTION_ID, device);
        meter.payload(TransferMeter.Kind.DEVICE_STATE, device.length);
        StreamEncoder.eof(batch);
        flush(false);
        pause.took(PauseBudget.Part.DEVICE_STATE);
        if (disks.isEmpty()) {
            // the whole stream is out: from here only the destination's explicit refusal gives the guest back
            phases.moveTo(OutgoingPhase.HANDOFF);
        }
        int status = connection.awaitShut(SHUT_TIMEOUT_MS);
        if (status != 0) {
            String reason = connection.destinationReason();
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
     * One control-plane round trip, timed, for the switchover rule: the hand-off makes two while
     * the guest is paused (this side's HANDOFF, the destination's activation). Only for a guest
     * with disks; an unreachable control plane leaves the estimate at zero (the pause will say).
     */
    private void measureControlPlane() throws InterruptedException {
        if (disks.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        if (arbiter.read(spec.jobId(), Duration.ofSeconds(5)).verdict() != OwnershipArbiter.Verdict.UNREACHABLE) {
            pause.controlPlaneRoundTrip(System.nanoTime() - start);
        }
    }

    /**
     * QEMU's post-copy switch: pause; the last image chunks (disks do not post-copy); the pages to
     * be sent again as discards; the disk hand-off; LISTEN, run state, device state, RUN — from
     * here the destination runs the guest. Then the pages it asks for go first, the rest are
     * pushed behind them, each page once on the main connection; END and EOF when none is left.
     */
    private boolean postcopy(List<RamBlock> blocks, long[][] toSend, GuestState before) throws InterruptedException {
        commitToSwitchover();
        connection.onReturnPath(this::onReturnPath);
        connection.shallowBuffers();
        connection.onWritable(this::wake);
        bytesBeforePause = transferred;
        long downtimeStart = System.nanoTime();
        migrating.changeState(GuestState.PAUSED);
        remainingPages = sync(blocks, toSend);   // every page still to send: the discards, then post-copy's work
        diskRemainingChunks = syncDisks();
        sendDiskRound(StreamFormat.SECTION_END, false);
        PostcopyDiscards.write(blocks, toSend, () -> {
            ensureRoom(512);
            return batch;
        });
        if (!disks.isEmpty()) {
            handOff();
        }
        switchedDeviceState = guest.deviceState();
        switchedRunState = before == GuestState.PAUSED ? "paused" : "running";
        ensureRoom(switchedDeviceState.length + 512);
        StreamEncoder.postcopyListen(batch);
        writeRun();
        // From the first byte of RUN on, the destination may run the guest: never resume it here again.
        phases.moveTo(OutgoingPhase.POSTCOPY_ACTIVE);
        long[] cursor = new long[blocks.size()];
        try {
            flush(false);
            downtimeMs = (System.nanoTime() - downtimeStart) / 1_000_000;
            bytesDuringPause = transferred - bytesBeforePause;
            reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_ACTIVE,
                    "post-copy: the destination runs the guest and asks for the pages it lacks", progress(), null));
            log.info("post-copy running after {} ms of downtime; {} pages to go", downtimeMs, remainingPages);
        } catch (MigrationFailure broken) {
            if (connection.refusedByDestination()) {
                throw broken;   // the destination refused the switch (e.g. its device state check): its verdict
            }
            downtimeMs = (System.nanoTime() - downtimeStart) / 1_000_000;
            bytesDuringPause = transferred - bytesBeforePause;
            Recovery outcome = pauseUntilRecovered(blocks, toSend, broken.getMessage(), before);
            if (outcome != Recovery.RECOVERED) {
                return outcome == Recovery.HANDED_OVER;
            }
        }
        boolean afterRecovery = false;
        while (true) {
            try {
                pushRemaining(blocks, toSend, cursor, afterRecovery);
                return true;
            } catch (MigrationFailure broken) {
                if (connection.refusedByDestination()) {
                    throw broken;   // the destination's verdict, not a broken link
                }
                Recovery outcome = pauseUntilRecovered(blocks, toSend, broken.getMessage(), before);
                if (outcome != Recovery.RECOVERED) {
                    return outcome == Recovery.HANDED_OVER;
                }
                java.util.Arrays.fill(cursor, 0);
                afterRecovery = true;
            }
        }
    }

    /** How a paused post-copy ended its pause. */
    private enum Recovery {
        /** The link is back; post-copy goes on. */
        RECOVERED,
        /** The destination had finished (its answer was lost with the link): the guest is there. */
        HANDED_OVER,
        /** The destination never activated and no longer knows the job: the disks came back here, and the guest. */
        FAILED_BACK,
        /** An admin ended the migration and kept the guest here ({@link #abandonPostcopy}): it runs here again. */
        ABANDONED
    }

    /**
     * Requested pages first, the rest pushed behind them (held to max-postcopy-bandwidth), each
     * page once; END and EOF when none is left, then the destination's SHUT.
     */
    private void pushRemaining(List<RamBlock> blocks, long[][] toSend, long[] cursor, boolean afterRecovery)
            throws InterruptedException {
        if (afterRecovery && remainingPages == 0) {
            // Every page is there; the destination may even have read the RAM END section before the
            // link broke (a PART after it would be refused): only EOF is missing.
            ensureRoom(64);
            StreamEncoder.eof(batch);
            flush(false);
            awaitEnd();
            return;
        }
        ensureRoom(64);
        StreamEncoder.sectionPart(batch, StreamFormat.SECTION_PART, RAM_SECTION_ID);
        int block = 0;
        long unwritableSince = 0;
        while (remainingPages > 0) {
            if (preempt != null) {
                preempt.checkOpen();   // a broken preempt channel pauses post-copy like a broken main one
            }
            if (serveRequests(blocks, toSend, cursor)) {
                flushRequested();   // a requested page does not wait for a full batch
                continue;
            }
            long wait = postcopyLimiter.nanosUntilAllowed();
            if (wait > 0) {
                flushBackground();
                ReturnPathMessage.RequestPages next = requests.poll(wait, TimeUnit.NANOSECONDS);
                if (next != null) {
                    requests.add(next);   // served at the top of the loop, in arrival order with the rest
                }
                continue;
            }
            if (!connection.isWritable()) {
                // the background push waits for the socket to drain, but a page request wakes it at once
                connection.checkOpen();
                if (unwritableSince == 0) {
                    unwritableSince = System.nanoTime();
                } else if (System.nanoTime() - unwritableSince > OutgoingConnection.STALL_TIMEOUT_NANOS) {
                    connection.close();
                    throw new MigrationFailure("the link to the destination took no data for "
                            + OutgoingConnection.STALL_TIMEOUT_NANOS / 1_000_000_000 + " s");
                }
                LockSupport.parkNanos(this, WRITABLE_POLL_NANOS);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                continue;
            }
            unwritableSince = 0;
            // background push: a few pages from where the guest last asked, then look at requests again
            boolean found = false;
            for (int tried = 0; tried < blocks.size() && !found; tried++) {
                int b = (block + tried) % blocks.size();
                long page = DirtyBitmap.nextSetBit(toSend[b], cursor[b]);
                if (page < 0) {
                    page = DirtyBitmap.nextSetBit(toSend[b], 0);
                }
                if (page >= 0) {
                    block = b;
                    int before = batch.readableBytes();
                    sendPostcopyPages(blocks.get(b), toSend[b], page, RUN_PAGES, TransferMeter.Kind.RAM);
                    postcopyLimiter.charge(Math.max(0, batch.readableBytes() - before));
                    cursor[b] = page + RUN_PAGES;
                    found = true;
                }
            }
            if (!found) {
                break;   // every page has been sent
            }
            if (batch.readableBytes() >= 128 << 10) {
                flushBackground();   // the push is paced by max-postcopy-bandwidth, not by the pre-copy limit
            }
        }
        ensureRoom(64);
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, RAM_SECTION_ID);
        StreamEncoder.sectionPart(batch, StreamFormat.SECTION_END, RAM_SECTION_ID);
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, RAM_SECTION_ID);
        StreamEncoder.eof(batch);
        flush(false);
        awaitEnd();
    }

    private void awaitEnd() throws InterruptedException {
        int status = connection.awaitShut(SHUT_TIMEOUT_MS);
        if (status != 0) {
            throw new MigrationFailure("destination failed at the end of post-copy (return-path SHUT " + status + ")"
                    + (connection.destinationReason() == null ? "" : ": " + connection.destinationReason()));
        }
    }

    /** Run state, device state and RUN: what makes the destination run the guest. */
    private void writeRun() {
        FerrySections.runState(batch, RUN_STATE_SECTION_ID, switchedRunState);
        StreamEncoder.deviceState(batch, DEVICE_SECTION_ID, switchedDeviceState);
        meter.payload(TransferMeter.Kind.DEVICE_STATE, switchedDeviceState.length);
        StreamEncoder.postcopyRun(batch);
    }

    /** Return-path messages of post-copy, on the connection's thread. */
    private void onReturnPath(ReturnPathMessage message) {
        if (message instanceof ReturnPathMessage.RequestPages request) {
            requests.add(request);
            wake();
        } else if (message instanceof ReturnPathMessage.ReceivedBitmap bitmap) {
            receivedBitmaps.put(bitmap.block(), bitmap.words());
            CompletableFuture<Void> all = bitmapsComplete;
            if (all != null && receivedBitmaps.size() == guest.memory().blocks().size()) {
                all.complete(null);
            }
        } else if (message instanceof ReturnPathMessage.ResumeAck) {
            CompletableFuture<Void> acked = resumeAcked;
            if (acked != null) {
                acked.complete(null);
            }
        } else {
            log.warn("unexpected return-path message during post-copy: {}", message);
        }
    }

    /**
     * QEMU's postcopy-paused: the link broke while both hosts hold parts of the only copy. The
     * guest stays paused here with every page the destination may lack; nothing is dropped. The
     * link is retried with back-off (and at once on {@link #recover()}) until it is back.
     */
    private Recovery pauseUntilRecovered(List<RamBlock> blocks, long[][] toSend, String reason, GuestState before)
            throws InterruptedException {
        long pausedAt = System.nanoTime();
        closeConnections();
        phases.moveTo(OutgoingPhase.POSTCOPY_PAUSED);
        String why = "post-copy link to " + spec.destinationAddress() + " broken (" + reason + "): the guest runs on "
                + "the destination and waits for the pages only this host has; " + (spec.autoRecover()
                ? "retrying with back-off" : "waiting for a recover request");
        reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_PAUSED, why, progress(), null));
        log.warn("migration {}", why);
        long backoff = RECOVER_BACKOFF_FIRST_MS;
        while (true) {
            synchronized (this) {
                long deadline = System.currentTimeMillis() + backoff;
                while (!recoverRequested && abandonment == null) {
                    long left = deadline - System.currentTimeMillis();
                    if (spec.autoRecover() && left <= 0) {
                        break;
                    }
                    wait(spec.autoRecover() ? left : 0);
                }
                recoverRequested = false;
                if (abandonment != null) {
                    return keepGuestHere(before);
                }
            }
            try {
                long resent = reconnect(blocks, toSend);
                synchronized (this) {
                    if (abandonment != null) {
                        // decided while this attempt ran: the admin's word stands (that worker was declared gone)
                        closeConnections();
                        return keepGuestHere(before);
                    }
                    phases.moveTo(OutgoingPhase.POSTCOPY_ACTIVE);
                }
                recoveries++;
                String back = "post-copy recovered after " + (System.nanoTime() - pausedAt) / 1_000_000
                        + " ms: the destination reported its pages, " + resent + " are sent again";
                reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_ACTIVE, back, progress(),
                        null));
                log.info("migration {}", back);
                return Recovery.RECOVERED;
            } catch (MigrationFailure failed) {
                closeConnections();
                if (failed instanceof OutgoingConnection.Refused) {
                    Recovery settled = settleRefusal(reason, before);
                    if (settled != null) {
                        synchronized (this) {
                            phases.moveTo(settled == Recovery.HANDED_OVER
                                    ? OutgoingPhase.COMPLETED : OutgoingPhase.FAILED);
                        }
                        return settled;
                    }
                }
                log.warn("post-copy recovery attempt failed, next in {} ms: {}", backoff, failed.getMessage());
                backoff = Math.min(backoff * 2, RECOVER_BACKOFF_MAX_MS);
            }
        }
    }

    /**
     * Honours {@link #abandonPostcopy}, on the migration thread, holding this: no recovery
     * attempt follows. The guest goes on from its state at the switch to post-copy (this host has
     * every page as of then); what it wrote on the destination since is lost — the admin's decision.
     */
    private Recovery keepGuestHere(GuestState before) {
        phases.moveTo(OutgoingPhase.FAILED);
        closeConnections();
        try {
            guest.activateDisks(abandonment.generations());
            restore(before);
            abandonment.done().complete(new AbandonReport(spec.jobId(), AbandonReport.SOURCE, 0, migrating.report()));
            log.warn("post-copy abandoned, the guest kept here ({}): disks active at generation {}, guest {}; its "
                    + "writes on the destination since the switch are lost", abandonment.reason(),
                    abandonment.generations().values(), guest.state().apiName());
        } catch (RuntimeException e) {
            abandonment.done().completeExceptionally(e);
            log.error("post-copy abandoned, but the guest could not be taken back here: the guest stays paused", e);
        }
        return Recovery.ABANDONED;
    }

    /** At the end of the run: an abandonment the migration ended before honouring learns why. */
    private synchronized void answerAbandonment() {
        if (abandonment != null && !abandonment.done().isDone()) {
            abandonment.done().completeExceptionally(new IllegalStateException("migration " + spec.jobId()
                    + " ended otherwise before the abandonment was honoured"));
        }
    }

    /**
     * The destination answered, but no longer knows the job. The control plane's records say why:
     * the job completed (the destination finished; its SHUT was lost), or the disks are still
     * handed off at the start generation + 1 (the destination never activated them, so it never
     * ran the guest): then the compare-and-set re-activation brings the guest back here, and
     * cannot win against a late activation. Otherwise (its worker restarted, or no disks to tell
     * by) the job stays paused: null.
     */
    private Recovery settleRefusal(String reason, GuestState before) throws InterruptedException {
        OwnershipArbiter.Answer now = arbiter.read(spec.jobId(), REACTIVATE_RETRY);
        if (now.verdict() != OwnershipArbiter.Verdict.GRANTED) {
            return null;
        }
        if ("completed".equals(now.jobStatus())) {
            log.info("post-copy: the destination had finished; the job is completed");
            return Recovery.HANDED_OVER;
        }
        boolean neverActivated = !disks.isEmpty() && !now.disks().isEmpty() && now.disks().stream().allMatch(d ->
                d.state() == OwnershipState.HANDOFF && d.ownerHostId().equals(spec.hostId())
                        && Long.valueOf(d.generation() - 1).equals(spec.baseGenerations().get(d.diskId().toString())));
        if (neverActivated) {
            return failBack("the destination lost the post-copy before running the guest (" + reason + ")", before)
                    ? Recovery.HANDED_OVER : Recovery.FAILED_BACK;
        }
        return null;
    }

    /**
     * QEMU's recovery handshake on a new connection: RECV_BITMAP for each block, the destination's
     * bitmaps of pages it has; what it lacks is sent again (this side's copy of each is final: the
     * guest is paused here). Then POSTCOPY_RESUME and its RESUME_ACK. Returns the pages to send.
     */
    private long reconnect(List<RamBlock> blocks, long[][] toSend) throws InterruptedException {
        receivedBitmaps.clear();
        bitmapsComplete = new CompletableFuture<>();
        resumeAcked = new CompletableFuture<>();
        connection = openMain();
        connection.onReturnPath(this::onReturnPath);
        connection.shallowBuffers();
        connection.onWritable(this::wake);
        openPreempt();   // QEMU re-creates the preempt channel with the main one
        batch.clear();   // what was batched for the old connection is sent again below, from the bitmaps
        if (urgent != null) {
            urgent.release();   // requested pages of the old link: sent again too, the destination lacks them
            urgent = null;
        }
        records = new RamRecordWriter();   // a new stream names the block of its first page again
        for (RamBlock block : blocks) {
            ensureRoom(512);
            StreamEncoder.recvBitmap(batch, block.name());
        }
        flush(false);
        awaitAnswer(bitmapsComplete, "the destination's received-pages bitmaps");
        long missing = 0;
        for (int b = 0; b < blocks.size(); b++) {
            long[] received = receivedBitmaps.get(blocks.get(b).name());
            if (received == null || received.length != toSend[b].length) {
                throw new MigrationFailure("the destination's bitmap of RAM block " + blocks.get(b).name() + " has "
                        + (received == null ? "no" : received.length) + " words, expected " + toSend[b].length);
            }
            DirtyBitmap valid = new DirtyBitmap(blocks.get(b).pageCount());
            valid.markAll();
            long[] all = new long[toSend[b].length];
            valid.syncAndClear(all);
            for (int w = 0; w < all.length; w++) {
                toSend[b][w] = all[w] & ~received[w];
                missing += Long.bitCount(toSend[b][w]);
            }
        }
        remainingPages = missing;
        StreamEncoder.postcopyResume(batch);
        flush(false);
        awaitAnswer(resumeAcked, "the destination's RESUME_ACK");
        // The first RUN may have been lost with the old link; a destination already running ignores it.
        ensureRoom(switchedDeviceState.length + 512);
        writeRun();
        flush(false);
        return missing;
    }

    private void awaitAnswer(CompletableFuture<Void> answer, String what) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVER_ANSWER_TIMEOUT_MS * 1_000_000;
        while (!answer.isDone()) {
            connection.checkOpen();
            if (System.nanoTime() > deadline) {
                throw new MigrationFailure("timed out after " + RECOVER_ANSWER_TIMEOUT_MS + " ms waiting for " + what);
            }
            try {
                answer.get(50, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException notYet) {
                // look at the connection again
            } catch (java.util.concurrent.ExecutionException e) {
                throw new MigrationFailure(what + " failed: " + e.getCause().getMessage());
            }
        }
    }

    /** Sends requested pages still to be sent; true if any was. */
    private boolean serveRequests(List<RamBlock> blocks, long[][] toSend, long[] cursor) throws InterruptedException {
        boolean served = false;
        ReturnPathMessage.RequestPages request;
        while ((request = requests.poll()) != null) {
            postcopyRequests++;
            for (int b = 0; b < blocks.size(); b++) {
                if (blocks.get(b).name().equals(request.block())) {
                    long first = request.start() / StreamFormat.PAGE_SIZE;
                    long count = request.length() / StreamFormat.PAGE_SIZE;
                    for (long p = first; p < first + count && p < blocks.get(b).pageCount(); p++) {
                        if (DirtyBitmap.isSet(toSend[b], p)) {
                            sendRequested(blocks.get(b), toSend[b], p);
                            served = true;
                        }
                    }
                    cursor[b] = first + count;   // locality: the background push goes on from here
                }
            }
        }
        return served;
    }

    /**
     * A requested page, marked in {@code bits}: on the preempt channel if there is one, else in the
     * batch. A page sent on the preempt channel stays due on the main one: the two connections are
     * not ordered with each other, so only the main stream can promise every page before its END
     * (the destination keeps whichever copy lands first; the source's copy is final, the guest
     * being paused here). A broken preempt channel then costs latency, never a page.
     */
    private void sendRequested(RamBlock block, long[] bits, long page) throws InterruptedException {
        if (preempt == null) {
            sendPostcopyPages(block, bits, page, 1, TransferMeter.Kind.POSTCOPY_REQUESTED);
            return;
        }
        if (urgent == null) {
            urgent = preempt.alloc().directBuffer(StreamFormat.PAGE_SIZE + 512);
        }
        urgent.ensureWritable(StreamFormat.PAGE_SIZE + 300);
        writePage(urgent, preemptRecords, block, page, TransferMeter.Kind.POSTCOPY_REQUESTED);
    }

    /** Requested pages go out now: on the preempt channel, or in the main channel's batch without one. */
    private void flushRequested() throws InterruptedException {
        if (urgent == null) {
            flushBackground();
            return;
        }
        ByteBuf pages = urgent;
        urgent = null;
        account(pages.readableBytes(), false);
        preempt.write(pages);
    }

    /**
     * Post-copy's main channel: the batch goes out without waiting for the socket to drain; the
     * push loop waits for that itself, so a page request never waits behind a full socket.
     */
    private void flushBackground() throws InterruptedException {
        int bytes = batch.readableBytes();
        if (bytes == 0) {
            return;
        }
        ByteBuf full = batch;
        batch = connection.alloc().directBuffer(BATCH_BYTES);
        account(bytes, false);
        connection.writeWithoutWaiting(full);
    }

    /** Post-copy: the migration thread parks while the main socket is full; a request or a drained socket ends that. */
    private void wake() {
        Thread thread = migrationThread;
        if (thread != null) {
            LockSupport.unpark(thread);
        }
    }

    /** The job's main channel (first, and again after a recovery), with this worker's data-plane security. */
    private OutgoingConnection openMain() throws InterruptedException {
        OutgoingConnection opened = OutgoingConnection.open(security, group, spec.destinationAddress(), spec.jobId(),
                spec.secret(), Handshake.Channel.MAIN, HANDSHAKE_TIMEOUT_MS);
        TlsSession tls = opened.tlsSession();
        dataPlane = tls == null ? MigrationProgress.DataPlane.PLAIN
                : new MigrationProgress.DataPlane(true, tls.protocol(), tls.cipher(), tls.provider());
        return opened;
    }

    /**
     * The preempt channel, when the job may post-copy. A destination that refuses it (one that
     * knows only the main channel) or a failure to open it leaves the job on the main channel alone.
     */
    private void openPreempt() throws InterruptedException {
        preempt = null;
        if (!spec.settings().postcopy().enabled()) {
            return;
        }
        try {
            preempt = OutgoingConnection.open(security, group, spec.destinationAddress(), spec.jobId(), spec.secret(),
                    Handshake.Channel.POSTCOPY_PREEMPT, HANDSHAKE_TIMEOUT_MS);
            preempt.onReturnPath(this::onReturnPath);
            preemptRecords = new RamRecordWriter();
        } catch (MigrationFailure refused) {
            log.warn("no post-copy preempt channel, requested pages share the main one: {}", refused.getMessage());
        }
    }

    /**
     * The job's multifd channels, each with the job's handshake, or null for one channel. A job
     * that may post-copy keeps its pages on the main stream, as QEMU did before 10.0: post-copy's
     * discards, requests and recovery rest on one ordered stream of pages.
     */
    private MultifdSender openMultifd() throws InterruptedException {
        int count = spec.settings().channels();
        if (count <= 1) {
            return null;
        }
        if (spec.settings().postcopy().enabled()) {
            log.info("{} channels asked for, but the job may post-copy: its pages share the main stream", count);
            return null;
        }
        List<OutgoingConnection> opened = new java.util.ArrayList<>();
        try {
            for (int id = 0; id < count; id++) {
                try {
                    opened.add(OutgoingConnection.open(security, group, spec.destinationAddress(), spec.jobId(),
                            spec.secret(), Handshake.Channel.MULTIFD, HANDSHAKE_TIMEOUT_MS));
                } catch (MigrationFailure refused) {
                    throw MultifdSender.cannotOpen(id, count, refused);
                }
            }
        } catch (RuntimeException | InterruptedException e) {
            opened.forEach(OutgoingConnection::close);
            throw e;
        }
        log.info("pages travel on {} multifd channels", count);
        return MultifdSender.start(spec.jobId(), opened);
    }

    private void closeConnections() {
        if (connection != null) {
            connection.close();
        }
        if (multifd != null) {
            multifd.close();
        }
        if (preempt != null) {
            preempt.close();
        }
    }

    /** Up to {@code max} marked pages from {@code first} on, each cleared once sent (never twice). */
    private void sendPostcopyPages(RamBlock block, long[] bits, long first, int max, TransferMeter.Kind kind)
            throws InterruptedException {
        for (long p = first; p < first + max && p < block.pageCount(); p++) {
            if (DirtyBitmap.isSet(bits, p)) {
                sendRun(block, p, 1, false, kind);
                clear(bits, p);
                remainingPages--;
            }
        }
    }

    /**
     * QEMU's rule: images are flushed and inactivated before the end of the stream. Then the
     * control plane records the hand-off; without that record the destination could never
     * activate, so there is no point sending the rest.
     */
    private void handOff() throws InterruptedException {
        try {
            guest.inactivateDisks();
        } catch (java.io.IOException e) {
            phases.moveTo(OutgoingPhase.HANDOFF);   // partly fenced: only the control plane may make them writable again
            throw new MigrationFailure("flushing the disks before the hand-off failed: " + e.getMessage());
        }
        phases.moveTo(OutgoingPhase.HANDOFF);
        faults.reach(FaultInjector.Step.SOURCE_INACTIVATED, spec.jobId(), connection::close);
        OwnershipArbiter.Answer answer = arbiter.step(spec.jobId(), HandoffStep.HANDOFF, spec.baseGenerations(),
                spec.handoffTimeout());
        if (answer.verdict() != OwnershipArbiter.Verdict.GRANTED) {
            throw new MigrationFailure("the control plane did not record the hand-off (" + answer.verdict()
                    .name().toLowerCase(java.util.Locale.ROOT) + ": " + answer.detail() + ")");
        }
        log.info("disks handed off: {}", answer.disks());
        faults.reach(FaultInjector.Step.HANDOFF_RECORDED, spec.jobId(), connection::close);
    }

    /**
     * Writes the guest's recent disk writes to storage between rounds, so the flush before the
     * hand-off (inside the downtime) has little left to do.
     */
    private void flushDisks() {
        long start = System.nanoTime();
        for (DiskChunks disk : disks) {
            try {
                disk.image().flush();
            } catch (java.io.IOException e) {
                throw new MigrationFailure("flushing image of disk " + disk.device() + " failed: " + e.getMessage());
            }
        }
        pause.flushed(System.nanoTime() - start);
    }

    /** Moves the images' dirty logs into their due chunks (copy mode); returns how many are due. */
    private long syncDisks() {
        if (!spec.settings().copyImages()) {
            return 0;
        }
        long due = 0;
        for (DiskChunks disk : disks) {
            due += disk.sync();
        }
        return due;
    }

    /**
     * Sends every due chunk of every image as a {@code block} PART or END section (copy mode).
     * A chunk is read from the image straight into the batch and sent whole (QEMU's layout: the
     * last chunk is padded); an all-zero chunk becomes a header without data.
     */
    private void sendDiskRound(byte sectionType, boolean rateLimited) throws InterruptedException {
        if (!spec.settings().copyImages() || disks.isEmpty()) {
            return;
        }
        ensureRoom(64);
        StreamEncoder.sectionPart(batch, sectionType, BLOCK_SECTION_ID);
        for (DiskChunks disk : disks) {
            for (long chunk = disk.next(0); chunk >= 0; chunk = disk.next(chunk + 1)) {
                sendChunk(disk, chunk, rateLimited);
                disk.clear(chunk);
                diskRemainingChunks = Math.max(0, diskRemainingChunks - 1);
                if (rateLimited) {
                    checkCancel();
                }
            }
        }
        ensureRoom(64);
        if (sectionType == StreamFormat.SECTION_END) {
            StreamEncoder.blockProgress(batch, 100);
        }
        StreamEncoder.blockEos(batch);
        StreamEncoder.footer(batch, BLOCK_SECTION_ID);
        flush(rateLimited);
    }

    /**
     * A chunk whose first 4 KiB hold data goes out by sendfile, straight from the page cache (the
     * common case, and the fast one: no copy through this process); a chunk that starts with
     * zeros is read in and checked whole, and sent as a zero record if it is all zero.
     */
    private void sendChunk(DiskChunks disk, long chunk, boolean rateLimited) throws InterruptedException {
        long offset = chunk * StreamFormat.BLOCK_CHUNK_BYTES;
        int length = (int) Math.min(StreamFormat.BLOCK_CHUNK_BYTES, disk.image().sizeBytes() - offset);
        if (startsWithData(disk, offset, length)) {
            ensureRoom(512, rateLimited);
            StreamEncoder.blockChunkHeader(batch, disk.device(), offset);
            flush(rateLimited);
            account(length, rateLimited);
            connection.write(disk.image().readChannel(), offset, length);
            meter.payload(TransferMeter.Kind.DISK, length);
            batch.writeZero(StreamFormat.BLOCK_CHUNK_BYTES - length);   // QEMU's chunks are whole; pad the last
            diskTransferred += StreamFormat.BLOCK_CHUNK_BYTES;
            return;
        }
        ensureRoom(StreamFormat.BLOCK_CHUNK_BYTES + 512, rateLimited);
        int header = batch.writerIndex();
        StreamEncoder.blockChunkHeader(batch, disk.device(), offset);
        int data = batch.writerIndex();
        try {
            for (int read = 0; read < length; ) {
                int n = batch.writeBytes(disk.image().readChannel(), offset + read, length - read);
                if (n < 0) {
                    throw new MigrationFailure("image of disk " + disk.device() + " ended early at " + (offset + read));
                }
                read += n;
            }
        } catch (java.io.IOException e) {
            throw new MigrationFailure("cannot read image of disk " + disk.device() + ": " + e.getMessage());
        }
        batch.writeZero(StreamFormat.BLOCK_CHUNK_BYTES - length);
        if (isZero(batch, data, StreamFormat.BLOCK_CHUNK_BYTES)) {
            batch.writerIndex(header);
            StreamEncoder.blockZeroChunk(batch, disk.device(), offset);
        } else {
            meter.payload(TransferMeter.Kind.DISK, length);
        }
        diskTransferred += StreamFormat.BLOCK_CHUNK_BYTES;
    }

    private final java.nio.ByteBuffer probe = java.nio.ByteBuffer.allocateDirect(4096);

    private boolean startsWithData(DiskChunks disk, long offset, int length) {
        probe.clear().limit(Math.min(probe.capacity(), length));
        try {
            while (probe.hasRemaining()) {
                if (disk.image().readChannel().read(probe, offset + probe.position()) < 0) {
                    throw new MigrationFailure("image of disk " + disk.device() + " ended early at " + offset);
                }
            }
        } catch (java.io.IOException e) {
            throw new MigrationFailure("cannot read image of disk " + disk.device() + ": " + e.getMessage());
        }
        probe.flip();
        while (probe.remaining() >= Long.BYTES) {
            if (probe.getLong() != 0) {
                return true;
            }
        }
        return false;
    }

    private static boolean isZero(ByteBuf buffer, int from, int length) {
        int end = from + length;
        for (int i = from; i < end; i += Long.BYTES) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Sends every page marked in {@code toSend}, clearing the marks. The section header of a
     * PART round is written here; an END round's header was written by the caller.
     */
    private long sendRound(List<RamBlock> blocks, long[][] toSend, byte sectionType, boolean rateLimited)
            throws InterruptedException {
        if (sectionType == StreamFormat.SECTION_PART) {
            ensureRoom(64);
            StreamEncoder.sectionPart(batch, StreamFormat.SECTION_PART, RAM_SECTION_ID);
        }
        long sent = 0;
        for (int b = 0; b < blocks.size(); b++) {
            RamBlock block = blocks.get(b);
            long[] bits = toSend[b];
            long page = DirtyBitmap.nextSetBit(bits, 0);
            while (page >= 0) {
                int run = 1;
                while (run < RUN_PAGES && page + run < block.pageCount() && DirtyBitmap.isSet(bits, page + run)) {
                    run++;
                }
                sendRun(block, page, run, rateLimited, TransferMeter.Kind.RAM);
                for (int i = 0; i < run; i++) {
                    clear(bits, page + i);
                }
                sent += run;
                remainingPages = Math.max(0, remainingPages - run);
                if (rateLimited) {
                    checkCancel();
                    if (postcopyRequested) {
                        page = -1;   // the rest stays marked: post-copy sends it
                        b = blocks.size();
                        break;
                    }
                }
                page = DirtyBitmap.nextSetBit(bits, page + run);
            }
        }
        ensureRoom(64);
        if (multifd != null) {
            // the round's pages are placed on the destination before it reads past this word
            multifdWritten(multifd.sync(), TransferMeter.Kind.RAM, rateLimited);
            StreamEncoder.multifdFlush(batch);
        }
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, RAM_SECTION_ID);
        flush(rateLimited);
        return sent;
    }

    private void sendRun(RamBlock block, long firstPage, int pages, boolean rateLimited, TransferMeter.Kind kind)
            throws InterruptedException {
        if (multifd != null) {
            for (long page = firstPage; page < firstPage + pages; page++) {
                boolean zero = block.isZeroPage(page);
                if (zero) {
                    duplicate++;
                } else {
                    normal++;
                }
                multifdWritten(multifd.add(block, page, zero), kind, rateLimited);
            }
            return;
        }
        for (int i = 0; i < pages; i++) {
            ensureRoom(StreamFormat.PAGE_SIZE + 300, rateLimited);
            writePage(batch, records, block, firstPage + i, kind);
        }
    }

    /**
     * One page record (a ZERO record for an all-zero page) into {@code out}, with {@code writer}'s
     * channel state; a full page counts as {@code kind}.
     */
    private void writePage(ByteBuf out, RamRecordWriter writer, RamBlock block, long page, TransferMeter.Kind kind) {
        long offset = page * StreamFormat.PAGE_SIZE;
        boolean zero = block.isZeroPage(page);
        if (zero) {
            writer.zeroPage(out, block.name(), offset);
        } else {
            writer.pageHeader(out, block.name(), offset);
            block.readPage(page, out);
        }
        count(zero, kind);
    }

    /** A multifd packet (or several) went out: its bytes count now, its pages as payload. */
    private void multifdWritten(long streamBytes, TransferMeter.Kind kind, boolean rateLimited)
            throws InterruptedException {
        if (streamBytes > 0) {
            meter.payload(kind, multifd.takeWrittenPayload());
            account(streamBytes, rateLimited);
        }
    }

    /** QEMU's duplicate (zero) and normal page counts, and the worker's payload bytes. */
    private void count(boolean zero, TransferMeter.Kind kind) {
        if (zero) {
            duplicate++;
        } else {
            normal++;
            meter.payload(kind, StreamFormat.PAGE_SIZE);
        }
    }

    private static void clear(long[] bits, long page) {
        bits[(int) (page >>> 6)] &= ~(1L << page);
    }

    /** Moves the guest's dirty log into {@code toSend}; returns how many pages are now to be sent. */
    private long sync(List<RamBlock> blocks, long[][] toSend) {
        long count = 0;
        for (int b = 0; b < blocks.size(); b++) {
            long[] taken = new long[toSend[b].length];
            guest.dirtyLog(blocks.get(b).name()).syncAndClear(taken);
            long[] bits = toSend[b];
            for (int w = 0; w < bits.length; w++) {
                bits[w] |= taken[w];
                count += Long.bitCount(bits[w]);
            }
        }
        dirtySyncCount++;
        return count;
    }

    private void ensureRoom(int bytes) throws InterruptedException {
        ensureRoom(bytes, false);
    }

    private void ensureRoom(int bytes, boolean rateLimited) throws InterruptedException {
        if (batch.writableBytes() < bytes) {
            flush(rateLimited);
        }
        if (batch.writableBytes() < bytes) {
            batch.ensureWritable(bytes);
        }
    }

    private void flush(boolean rateLimited) throws InterruptedException {
        int bytes = batch.readableBytes();
        if (bytes == 0) {
            return;
        }
        ByteBuf full = batch;
        batch = connection.alloc().directBuffer(BATCH_BYTES);
        account(bytes, rateLimited);
        connection.write(full);
    }

    /** Counts bytes about to be written: rate limit, totals, bandwidth window, progress. */
    private void account(long bytes, boolean rateLimited) throws InterruptedException {
        if (rateLimited) {
            limiter.account(bytes);
        }
        transferred += bytes;
        meter.stream(bytes);
        bandwidth.add(bytes, normal + duplicate);
        progressMaybe(false);
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

    /** A snapshot of QEMU's query-migrate figures. */
    public MigrationProgress progress() {
        long totalMs = elapsedMs();
        double seconds = Math.max((totalMs - setupMs) / 1000.0, 0.001);
        long totalBytes = guest.memory().isClosed() ? 0 : guest.memory().totalBytes();
        MigrationProgress.Disk disk = !spec.settings().copyImages() || disks.isEmpty() ? null : new MigrationProgress.Disk(
                disks.stream().mapToLong(d -> d.image().sizeBytes()).sum(), diskTransferred,
                diskRemainingChunks * StreamFormat.BLOCK_CHUNK_BYTES);
        return new MigrationProgress(setupMs, totalMs, expectedDowntimeMs, downtimeMs,
                new MigrationProgress.Ram(totalBytes, transferred, remainingPages * StreamFormat.PAGE_SIZE, duplicate,
                        normal, normal * StreamFormat.PAGE_SIZE, dirtyPagesRate,
                        transferred * 8 / seconds / 1e6, dirtySyncCount, bandwidth.pagesPerSecond(), iterations),
                disk, switchedRunState != null ? new MigrationProgress.Postcopy(postcopyRequests, bytesBeforePause,
                        bytesDuringPause, transferred - bytesBeforePause - bytesDuringPause, recoveries, null) : null,
                verification, dataPlane);
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
