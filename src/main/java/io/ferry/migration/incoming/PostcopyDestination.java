package io.ferry.migration.incoming;

import io.ferry.channel.AbandonReport;
import io.ferry.channel.HandoffStep;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.DemandPaging;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.transport.IncomingRegistry;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Post-copy on the destination: ADVISE tracks the pages present here, discards drop those the
 * source sends again, LISTEN makes a broken link recoverable, RUN starts the guest on demand-paged
 * memory (with disks, once the control plane activated them here), and after EOF it ends once
 * every page is here. A broken link pauses it: the guest runs on, an access to a page still at the
 * source waits for the recovery (RECV_BITMAP, RESUME). An admin may abandon a stranded one,
 * keeping the guest here. The pages it asks for come on its {@link PreemptChannel} when there is one.
 *
 * <p>The stream's callbacks come under the job's lock; the activation thread takes it too. The end
 * is decided under {@link #ending}, from the stream, the activation thread or the preempt channel.
 */
final class PostcopyDestination {

    // the destination's lines stay under one logger, where operators (and tests) look for them
    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);
    private static final ScheduledExecutorService FAULT_REPORTS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fault-reports");
        t.setDaemon(true);
        return t;
    });

    private final IncomingJob job;
    /** The checks a RUN passes first, and the state the guest runs in, are the stream end's. */
    private final IncomingCompletion completion;
    private final PreemptChannel preempt;
    /** Pages present here; non-null once the source advised post-copy. */
    private DemandPaging paging;
    /**
     * The control plane ended the job while post-copy may run the guest here: no more fault
     * reports. Not a phase: the migration goes on through every phase as before (it may still
     * pause, recover, complete), only unreported; and it may be asked in any of them.
     */
    private volatile boolean reportsStopped;
    /** Guards the decision that post-copy ended (every page here, or a gap reported). */
    private final Object ending = new Object();

    /** {@code pages} places the preempt channel's pages, as the main stream's. */
    PostcopyDestination(IncomingJob job, IncomingCompletion completion, StreamListener pages) {
        this.job = job;
        this.completion = completion;
        this.preempt = new PreemptChannel(job, pages, this::finish);
    }

    PreemptChannel preempt() {
        return preempt;
    }

    /**
     * Whether a page that arrived is placed: since RUN the guest may have written a page present
     * here, so only one that is not, and by one channel (DemandPaging.claim).
     */
    boolean claim(int blockIndex, long pageIndex) {
        return !job.phases().current().demandPaging() || paging.claim(blockIndex, pageIndex);
    }

    /** A page was placed: no longer missing. */
    void arrived(int blockIndex, long pageIndex) {
        if (paging != null) {
            paging.arrived(blockIndex, pageIndex);
        }
    }

    void advise() {
        paging = job.guest().startDemandPaging();
        job.phases().moveFrom(IncomingPhase.RECEIVING, IncomingPhase.ADVISED);   // a repeated ADVISE only renews the bitmap
    }

    void discard(int blockIndex, long firstPage, long pages) {
        IncomingPhase now = job.phases().current();
        if (!now.acceptsDiscards()) {
            throw new StreamFormatException("POSTCOPY_RAM_DISCARD " + (now == IncomingPhase.RECEIVING
                    ? "without POSTCOPY_ADVISE" : "after POSTCOPY_RUN"));
        }
        paging.discard(blockIndex, firstPage, pages);
    }

    void listen() {
        if (job.phases().is(IncomingPhase.RECEIVING)) {
            throw new StreamFormatException("POSTCOPY_LISTEN without POSTCOPY_ADVISE");
        }
        job.phases().moveFrom(IncomingPhase.ADVISED, IncomingPhase.LISTENING);   // a repeated LISTEN changes nothing
    }

    /** Recovery: which pages arrived here, so the source sends the rest again. */
    void recvBitmap(int blockIndex) {
        if (!job.phases().current().recovering()) {
            throw new StreamFormatException("RECV_BITMAP outside a post-copy recovery");
        }
        job.main().get().send(new ReturnPathMessage.ReceivedBitmap(job.blocks().get(blockIndex).name(),
                paging.presentWords(blockIndex)));
    }

    /** Recovery done: acknowledged, and every page still waited for is asked for again. */
    void resume() {
        IncomingPhase now = job.phases().current();
        if (!now.recovering()) {
            throw new StreamFormatException("POSTCOPY_RESUME outside a post-copy recovery");
        }
        job.phases().moveTo(now.toResumed());
        job.main().get().send(new ReturnPathMessage.ResumeAck(1));
        paging.requestAgain();
        log.info("incoming migration {}: post-copy resumed; {} pages still to come", job.jobId(), paging.missing());
    }

    /**
     * The guest may run here now, with the pages it lacks fetched on demand: after the same checks
     * as at the end of a pre-copy stream, and, with disks, after the control plane's activation.
     */
    void run() {
        IncomingPhase now = job.phases().current();
        if (now.runSeen()) {
            return;   // sent again after a recovery, in case the first never arrived
        }
        // QEMU's order, ADVISE, LISTEN, RUN: only from LISTEN on is a broken link recovered from
        String problem = now == IncomingPhase.RECEIVING ? "POSTCOPY_RUN without POSTCOPY_ADVISE"
                : now == IncomingPhase.ADVISED ? "POSTCOPY_RUN without POSTCOPY_LISTEN"
                : completion.checkDeviceAndImages();
        if (problem != null) {
            job.fail().accept(problem);
            return;
        }
        if (job.images().isEmpty()) {
            runGuest("no disks to activate");
            return;
        }
        job.phases().moveTo(now.toRunPending());
        Thread activation = new Thread(this::activate, "activation-" + job.jobId());
        activation.setDaemon(true);
        activation.start();
    }

    /** Off the stream: the control plane's activation, asked until it answers; then, under the job's lock, run or drop. */
    private void activate() {
        MDC.put("jobId", job.jobId().toString());
        try {
            OwnershipArbiter.Answer answer = job.arbiter().step(job.jobId(), HandoffStep.ACTIVATE_POSTCOPY,
                    job.spec().baseGenerations(), job.spec().handoffTimeout());
            while (answer.verdict() == OwnershipArbiter.Verdict.UNREACHABLE) {
                // it may have been applied with its answer lost: ask again (the step is idempotent for this
                // job, and a compare-and-set: the source's re-activation, if it came first, refuses it)
                log.warn("incoming migration {}: activation unanswered ({}); asking again", job.jobId(),
                        answer.detail());
                Thread.sleep(IncomingCompletion.RESOLVE_POLL.toMillis());
                answer = job.arbiter().step(job.jobId(), HandoffStep.ACTIVATE_POSTCOPY, job.spec().baseGenerations(),
                        job.spec().handoffTimeout());
            }
            synchronized (job.lock()) {
                if (answer.verdict() == OwnershipArbiter.Verdict.GRANTED) {
                    job.guest().activateDisks(answer.generations());
                    runGuest("disks activated at generation " + answer.generations().values());
                } else {
                    job.fail().accept("post-copy could not start: the disks were not activated here ("
                            + answer.detail() + ")");
                    job.main().get().close();
                    preempt.close();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            MDC.remove("jobId");
        }
    }

    /** The guest runs here from now on. Caller holds the job's lock. */
    private void runGuest(String why) {
        IncomingPhase now = job.phases().current();
        if (now == IncomingPhase.EOF_PENDING) {
            // every page's record came while the disks were being activated: the end is decided at once
            synchronized (ending) {
                job.phases().moveTo(IncomingPhase.DRAINING);
                startGuest(why);
                finish();
            }
            return;
        }
        job.phases().moveTo(now.toGuestRunning());
        startGuest(why);
        reportFaults();
        IncomingRegistry.ConnectionControl running = job.main().get();
        job.faults().reach(FaultInjector.Step.POSTCOPY_RUNNING, job.jobId(), running::close);
    }

    private void startGuest(String why) {
        job.main().get().shallowBuffers();
        paging.start((block, page) -> requests().send(new ReturnPathMessage.RequestPages(
                job.blocks().get(block).name(), page * StreamFormat.PAGE_SIZE, StreamFormat.PAGE_SIZE)));
        job.incoming().changeState(completion.runState());
        log.info("incoming migration {}: post-copy, guest {} runs here with {} pages to come ({})", job.jobId(),
                job.guest().id(), paging.missing(), why);
    }

    /**
     * Where page requests go: the preempt channel's return path when there is one (its thread is
     * not busy decoding the background push), else the main channel's, as in QEMU.
     */
    private IncomingRegistry.ConnectionControl requests() {
        IncomingRegistry.ConnectionControl to = preempt.connection();
        return to != null ? to : job.main().get();
    }

    /** The destination's side of post-copy progress: fault latencies, every second until the end. */
    private void reportFaults() {
        if (job.phases().current().ended() || reportsStopped) {
            return;
        }
        job.reporter().report(new MigrationReport(job.jobId(), MigrationPhase.PROGRESS, null, faultProgress(), null));
        FAULT_REPORTS.schedule(this::reportFaults, 1, TimeUnit.SECONDS);
    }

    private MigrationProgress faultProgress() {
        return new MigrationProgress(0, 0, null, null, null, null, new MigrationProgress.Postcopy(0, 0, 0, 0, 0,
                MigrationProgress.FaultLatency.of(faultLatencies())), null);
    }

    /** The pages of RAM block {@code blockIndex} that are here (bit p of word p/64), a snapshot; null before ADVISE. */
    long[] arrivedPages(int blockIndex) {
        DemandPaging pages = paging;
        return pages == null ? null : pages.presentWords(blockIndex);
    }

    /** This side's page faults: how long each access waited for its page, sorted, in nanoseconds. */
    long[] faultLatencies() {
        return paging == null ? new long[0] : paging.faultLatencies();
    }

    /** The control plane ended the job while post-copy may run the guest here: the guest stays, unreported. */
    void stopReports(String reason) {
        if (!reportsStopped) {
            reportsStopped = true;
            log.warn("incoming migration {}: not abandoned ({}): post-copy may run the guest here", job.jobId(),
                    reason);
        }
    }

    /**
     * QEMU's postcopy-paused on the destination: the guest keeps running; an access to a page that
     * has not arrived waits until the source reconnects (it retries) and sends it. Caller holds the
     * job's lock.
     */
    void pause(String reason) {
        preempt.close();   // even when already paused: one a failed recovery attempt left open
        IncomingPhase now = job.phases().current();
        if (now.linkLost()) {
            return;   // a recovery attempt's connection went too: the next one attaches as this one did
        }
        job.phases().moveTo(now.toPaused());
        String why = "post-copy connection from the source lost (" + reason + "): " + (now.demandPaging()
                ? "the guest runs here with " + paging.missing() + " pages still at the source; accesses to them wait"
                : "the guest was not started here yet; it waits") + " for the recovery";
        log.warn("incoming migration {}: {}", job.jobId(), why);
        job.reporter().report(new MigrationReport(job.jobId(), MigrationPhase.POSTCOPY_PAUSED, why, faultProgress(),
                null));
    }

    /** See {@link IncomingMigration#abandonPostcopy}. Caller holds the job's lock. */
    AbandonReport abandon(String reason, Map<String, Long> generations) {
        IncomingPhase now = job.phases().current();
        if (!now.abandonable()) {
            throw new IllegalStateException("migration " + job.jobId() + " is not a paused post-copy running the guest"
                    + " here (" + (now.ended() ? "it has ended" : now.demandPaging() ? "post-copy is active"
                    : "the guest does not run here yet") + ")");
        }
        job.images().forEach((diskId, image) -> {
            Long granted = generations.get(diskId);
            if (granted == null) {
                throw new IllegalArgumentException("no generation granted for disk " + diskId);
            }
            if (granted < image.activeGeneration()) {
                throw new IllegalStateException("disk " + diskId + " is active here at generation "
                        + image.activeGeneration() + ", newer than the granted " + granted);
            }
        });
        job.phases().moveTo(IncomingPhase.POSTCOPY_ABANDONED);   // from here no connection is read, no report made
        if (job.main().get() != null) {
            job.main().get().close();   // a recovery attempt's, if one is attached
        }
        preempt.close();
        if (!job.images().isEmpty()) {
            job.guest().activateDisks(generations);   // already active here since RUN: a no-op for an equal generation
        }
        long lost = paging.fillMissing((block, page) -> job.blocks().get(block).zeroPage(page));
        job.guest().endDemandPaging();
        String failureReason = "post-copy abandoned, the guest kept here: " + reason;
        job.outcome().refused(failureReason);
        job.outcome().ended(true);
        log.warn("incoming migration {}: {}; {} pages that never arrived are zero pages now; guest {} is {} here",
                job.jobId(), failureReason, lost, job.guest().id(), job.guest().state().apiName());
        return new AbandonReport(job.jobId(), AbandonReport.DESTINATION, lost, job.incoming().report());
    }

    /** EOF read after RUN: the end waits for the disks' activation, or is decided now. */
    void endOfStream(IncomingPhase now) {
        if (!now.demandPaging()) {
            job.phases().moveTo(IncomingPhase.EOF_PENDING);   // the activation thread runs the guest, then ends the stream
            return;
        }
        synchronized (ending) {
            job.phases().moveTo(IncomingPhase.DRAINING);
            finish();
        }
    }

    /**
     * Post-copy's end, once EOF was read ({@link IncomingPhase#DRAINING}): SHUT(0) when every page
     * is here. Requested pages the source sent on the preempt channel before EOF may still be on
     * their way; while that channel is open the end waits for them (called again as they arrive,
     * and when it closes).
     */
    private void finish() {
        synchronized (ending) {
            if (!job.phases().is(IncomingPhase.DRAINING)) {
                return;   // decided already
            }
            // DRAINING was set before this count: a page the preempt channel places meanwhile is counted, or calls again
            boolean preemptOpen = preempt.connection() != null;
            long missing = paging.missing();
            for (int i = 0; missing != 0 && paging.beingPlaced() > 0 && i < 100; i++) {
                // a page another connection claimed is being copied in (microseconds): it is not missing
                Thread.onSpinWait();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                missing = paging.missing();
            }
            if (missing != 0 && preemptOpen) {
                return;
            }
            if (missing != 0) {
                job.phases().moveTo(IncomingPhase.POSTCOPY_INCOMPLETE);
                // the guest runs here: it is not dropped; the source learns of the gap
                String failureReason = "post-copy stream ended with " + missing + " pages never sent";
                log.error("incoming migration {}: {}", job.jobId(), failureReason);
                job.outcome().refused(failureReason);
                return;
            }
            job.phases().moveTo(IncomingPhase.POSTCOPY_COMPLETED);
        }
        job.guest().endDemandPaging();
        long[] faults = paging.faultLatencies();
        job.reporter().report(new MigrationReport(job.jobId(), MigrationPhase.PROGRESS, null, faultProgress(), null));
        job.reporter().report(new MigrationReport(job.jobId(), MigrationPhase.COMPLETED, "post-copy complete: every "
                + "page is on the destination, which runs the guest", null, null));
        log.info("incoming migration {}: post-copy complete, every page here; {} page faults", job.jobId(),
                faults.length);
        job.outcome().succeeded();
    }
}
