package io.ferry.migration.incoming;

import io.ferry.channel.OwnershipState;
import io.ferry.channel.HandoffStep;
import io.ferry.channel.AbandonReport;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.OwnershipGrant;
import io.ferry.channel.OwnershipStep;
import io.ferry.guest.DemandPaging;
import io.ferry.guest.DiskImage;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.FerrySections;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PhaseMachine;
import io.ferry.migration.transport.IncomingRegistry;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The destination of one migration: an incoming guest (memory allocated once, images open and
 * inactive, nothing running) that the stream decoder writes into — memory, and with
 * {@code storage: copy} the images too. At EOF the stream is checked (device state present,
 * images complete; with verifyChecksums, digests equal the source's). Then a guest without
 * disks is resumed at once; a guest with disks first needs the control plane's activation
 * (HANDOFF → ACTIVE here): only a granted activation lets this host write the images and run
 * the guest. SHUT(0) answers the source after that. Anything else discards the incoming guest;
 * the source keeps its own.
 *
 * <p>If the control plane does not answer within the hand-off timeout, the source is told to
 * fail back (SHUT 1), and this side waits for the outcome instead of guessing: its activation
 * request may have been applied with the answer lost. Once the records say who won, it either
 * runs the guest or drops it.
 *
 * <p>Where it stands is one {@link IncomingPhase}, moved only along that enum's table.
 */
public final class IncomingMigration
        implements IncomingRegistry.IncomingEndpoint, StreamListener {

    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);
    private static final Duration RESOLVE_POLL = Duration.ofSeconds(1);

    /**
     * Parameters of one incoming migration. {@code baseGenerations} are the disks' generations
     * at job start (ACTIVE on the source), by disk id.
     */
    public record Spec(UUID jobId, String hostId, byte[] secret, boolean verifyChecksums, boolean copyImages,
                       Map<String, Long> baseGenerations, Duration handoffTimeout, int channels) {
    }

    private final Spec spec;
    private final UUID jobId;
    private final MigratingGuest incoming;
    private final SyntheticGuest guest;
    private final List<RamBlock> blocks;
    private final Map<String, DiskImage> images = new HashMap<>();
    private final ImageCopyReceiver imageCopy;
    private final MigrationReporter reporter;
    private final OwnershipArbiter arbiter;
    private final FaultInjector faults;
    /** Called once with (jobId, resumed?) when the migration ends either way. */
    private final BiConsumer<UUID, Boolean> done;
    private final StreamDecoder decoder;
    /** QEMU's multifd channels beside the main stream; null when the job has one channel. */
    private final MultifdReceiver multifd;
    /** Pages sent here so far: a zero page for one never sent needs nothing done. */
    private final ReceivedPages received;
    private final CompletableFuture<IncomingRegistry.Verdict> verdict = new CompletableFuture<>();

    private boolean blockListSeen;
    private byte[] deviceState;
    private String runState = "running";
    private FerrySections.Digests sourceDigests;
    /**
     * Where this side stands. Moved under this object's lock by the stream, recovery and the
     * activation threads; by compare-and-set alone where a cancel or a lost multifd channel races the
     * stream to drop the guest; into and out of {@link IncomingPhase#DRAINING} under {@link #ending}.
     */
    private final PhaseMachine<IncomingPhase> phases;
    private String remote;
    private String failureReason;
    private volatile IncomingRegistry.ConnectionControl connection;
    /** Post-copy: pages present here; non-null once the source advised post-copy. */
    private DemandPaging paging;
    /**
     * The control plane ended the job while post-copy may run the guest here: no more fault
     * reports. Not a phase: the migration goes on through every phase as before (it may still
     * pause, recover, complete), only unreported; and it may be asked in any of them.
     */
    private volatile boolean reportsStopped;
    /** Which connection is the stream's: a recovery attaches a new one; bytes of an older one are ignored. */
    private int leg;
    /**
     * Post-copy's preempt channel (QEMU's postcopy-preempt), null without one: requested pages
     * arrive on it and page requests leave on its return path, so neither waits behind the
     * background push. Guarded by this; re-opened by the source after a recovery.
     */
    private volatile IncomingRegistry.ConnectionControl preempt;
    /** Which preempt connection is current; bytes of an older one are ignored. Written under this. */
    private volatile int preemptLeg;
    /** Guards the decision that post-copy ended (every page here, or a gap reported). */
    private final Object ending = new Object();

    public IncomingMigration(Spec spec, MigratingGuest incoming, MigrationReporter reporter, OwnershipArbiter arbiter,
                             FaultInjector faults, BiConsumer<UUID, Boolean> done) {
        this.spec = spec;
        this.jobId = spec.jobId();
        this.phases = new PhaseMachine<>("incoming migration " + jobId, IncomingPhase.RECEIVING, IncomingPhase::next);
        this.incoming = incoming;
        this.guest = incoming.guest();
        this.blocks = guest.memory().blocks();
        guest.spec().disks().forEach(d -> images.put(d.diskId(), guest.disk(d.diskId())));
        this.imageCopy = new ImageCopyReceiver(images, spec.copyImages());
        this.reporter = reporter;
        this.arbiter = arbiter;
        this.faults = faults;
        this.received = new ReceivedPages(blocks);
        this.multifd = spec.channels() > 1
                ? new MultifdReceiver(jobId, spec.channels(), blocks, received, this::multifdChannelLost) : null;
        // a guest about to be dropped must first be out of every multifd channel's reach
        this.done = multifd == null ? done : (id, resumed) -> {
            if (resumed) {
                done.accept(id, true);
                return;
            }
            // Waiting for the channels to close must not happen here: this runs on an event loop, often
            // holding this object's lock, which a closing channel's thread may need before it can close.
            Thread dropping = new Thread(() -> {
                multifd.stop();
                done.accept(id, false);
            }, "multifd-stop-" + id);
            dropping.setDaemon(true);
            dropping.start();
        };
        this.decoder = new StreamDecoder(this, DecoderLimits.defaults());
    }

    public UUID jobId() {
        return jobId;
    }

    public IncomingPhase phase() {
        return phases.current();
    }

    @Override
    public byte[] secret() {
        return spec.secret();
    }

    /**
     * The first connection carries the stream. During post-copy a new one may replace it
     * (QEMU's recovery): the decoder goes on where the stream stood, at a section boundary.
     */
    @Override
    public synchronized IncomingRegistry.StreamSink attach(String remoteAddress,
                                                            IncomingRegistry.ConnectionControl connection) {
        IncomingPhase now = phases.current();
        if (now.ended()) {
            throw new IllegalStateException("incoming migration " + jobId + " was abandoned");
        }
        if (this.connection != null) {
            if (!now.acceptsRecovery()) {
                throw new IllegalStateException("job " + jobId + " already has its stream");
            }
            if (!now.linkLost()) {
                // the source knows better: its side of the old connection is gone (and it is recovering:
                // no pause report here, it could reach the control plane after the source's "recovered")
                log.warn("incoming migration {}: the source reconnected before this side saw its old connection end",
                        jobId);
            }
            this.connection.close();   // the old stream, or an earlier recovery attempt that went nowhere
            closePreempt();            // the source opens a new one with the new stream
            decoder.continueOnNewStream();
            if (!now.recovering()) {
                phases.moveTo(now.toRecovering());
            }
            log.info("incoming migration {}: recovery connection from {}", jobId, remoteAddress);
            faults.reach(FaultInjector.Step.POSTCOPY_RECOVERY, jobId, connection::close);
        }
        this.remote = remoteAddress;
        this.connection = connection;
        return new Leg(++leg);
    }

    /** True while a post-copy runs here and a new connection from the source may take the stream over. */
    public boolean acceptsRecovery() {
        return phases.current().acceptsRecovery();
    }

    /**
     * True while a stream is attached and the source may add (or, after a recovery, re-open) the
     * post-copy preempt channel. A registry hands this migration to a second connection of the
     * job when either this or {@link #acceptsRecovery()} holds.
     */
    public boolean acceptsPreempt() {
        return connection != null && phases.current().acceptsPreempt();
    }

    /**
     * The post-copy preempt channel: page records only, decoded on its own connection's thread but
     * under this object's lock like the main stream, so pages from either channel pass the same
     * "never overwrite a present page" rule one at a time. A newer preempt connection replaces an
     * older one.
     */
    @Override
    public synchronized IncomingRegistry.StreamSink attachPreempt(String remoteAddress,
                                                                   IncomingRegistry.ConnectionControl connection) {
        if (!acceptsPreempt()) {
            throw new IllegalStateException("job " + jobId + " has no stream to add a post-copy preempt channel to");
        }
        if (preempt != null) {
            preempt.close();
        }
        preempt = connection;
        log.info("incoming migration {}: post-copy preempt channel from {}", jobId, remoteAddress);
        return new PreemptLeg(++preemptLeg);
    }

    /** One of the job's multifd channels (see {@link MultifdReceiver}). */
    @Override
    public IncomingRegistry.StreamSink attachMultifd(String remoteAddress, IncomingRegistry.ConnectionControl control) {
        if (multifd == null) {
            throw new IllegalStateException("job " + jobId + " has one channel: no multifd channels are expected");
        }
        if (phases.current().ended()) {
            throw new IllegalStateException("incoming migration " + jobId + " has ended");
        }
        log.info("incoming migration {}: multifd channel from {}", jobId, remoteAddress);
        return multifd.attach(remoteAddress, control);
    }

    /** A multifd channel broke or misbehaved before the end: the stream cannot be whole, the source keeps the guest. */
    private void multifdChannelLost(String reason) {
        IncomingRegistry.ConnectionControl main;
        synchronized (this) {
            if (!moveIf(IncomingPhase::cancellable, IncomingPhase.FAILED)) {
                return;
            }
            main = connection;
        }
        if (main != null) {
            // the source learns why on the return path (REASON before SHUT), as for a refused stream
            main.send(new ReturnPathMessage.Reason(reason));
            main.send(new ReturnPathMessage.Shut(1));
            main.close();
        }
        discard(reason);
    }

    @Override
    public boolean multifdFlush() {
        if (multifd == null) {
            throw new StreamFormatException("MULTIFD_FLUSH on a stream without multifd channels");
        }
        return multifd.flush(connection);
    }

    /**
     * Moves to {@code to} if the phase now satisfies {@code from}, by compare-and-set: false when it
     * does not (another thread moved it first, e.g. a cancel racing a lost multifd channel).
     */
    private boolean moveIf(Predicate<IncomingPhase> from, IncomingPhase to) {
        while (true) {
            IncomingPhase now = phases.current();
            if (!from.test(now)) {
                return false;
            }
            if (phases.moveFrom(now, to)) {
                return true;
            }
        }
    }

    /** Closes the preempt channel, if any: a broken link closes every channel of the job. Caller holds this. */
    private void closePreempt() {
        if (preempt != null) {
            preempt.close();
            preempt = null;
            preemptLeg++;
        }
    }

    /** What every connection of the stream answers the transport: the one verdict of the migration. */
    private abstract class Sink implements IncomingRegistry.StreamSink {

        @Override
        public CompletionStage<IncomingRegistry.Verdict> verdict() {
            return verdict;
        }

        @Override
        public String failureReason() {
            return failureReason;
        }
    }

    /** One preempt connection: its own decoder (its own CONTINUE block), pages only once post-copy runs. */
    private final class PreemptLeg extends Sink implements StreamListener {

        private final int number;
        private final StreamDecoder pages = StreamDecoder.forPreemptChannel(this, DecoderLimits.defaults(),
                blocks.stream().map(b -> new RamBlockInfo(b.name(), b.sizeBytes())).toList());

        PreemptLeg(int number) {
            this.number = number;
        }

        @Override
        public boolean feed(ByteBuf in) {
            // Not under the migration's lock: a requested page must not wait for a whole read of the main
            // channel (pages are claimed one by one instead, DemandPaging.claim). After EOF its pages are still
            // placed (and may end post-copy): they were sent before it.
            if (number != preemptLeg || !phases.current().readsPreemptPages()) {
                in.skipBytes(in.readableBytes());
                return false;
            }
            pages.feed(in);
            if (phases.is(IncomingPhase.DRAINING)) {
                finishPostcopy();
            }
            return false;   // the main channel ends the stream
        }

        @Override
        public void closed(Throwable cause) {
            synchronized (IncomingMigration.this) {
                if (number != preemptLeg) {
                    return;
                }
                preempt = null;
                preemptLeg++;
                if (!phases.current().ended()) {
                    // requests go on the main channel's return path now; the source pauses and recovers if it lost it
                    log.warn("incoming migration {}: post-copy preempt channel closed{}", jobId,
                            cause == null ? "" : ": " + cause.getMessage());
                }
            }
            if (phases.is(IncomingPhase.DRAINING)) {
                finishPostcopy();   // what it still carried is lost: the end reports the gap
            }
        }

        @Override
        public void ramBlocks(List<RamBlockInfo> announced) {
            throw new StreamFormatException("RAM block list on the post-copy preempt channel");
        }

        @Override
        public void page(int blockIndex, long pageIndex, ByteBuf data) {
            requireRunning();
            IncomingMigration.this.page(blockIndex, pageIndex, data);
        }

        @Override
        public void zeroPage(int blockIndex, long pageIndex, int fill) {
            requireRunning();
            IncomingMigration.this.zeroPage(blockIndex, pageIndex, fill);
        }

        @Override
        public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
            throw new StreamFormatException("device state on the post-copy preempt channel");
        }

        @Override
        public void endOfStream() {
            throw new StreamFormatException("EOF on the post-copy preempt channel");
        }

        private void requireRunning() {
            if (!phases.current().demandPaging()) {
                throw new StreamFormatException("page on the post-copy preempt channel before POSTCOPY_RUN: only pages"
                        + " the destination asked for go there");
            }
        }
    }

    /** The stream as one connection sees it; once a newer connection took over, this one is ignored. */
    private final class Leg extends Sink {

        private final int number;

        Leg(int number) {
            this.number = number;
        }

        @Override
        public boolean feed(ByteBuf in) {
            synchronized (IncomingMigration.this) {
                if (phases.current().ended() || number != leg) {
                    in.skipBytes(in.readableBytes());
                    return number == leg;
                }
                if (decoder.held()) {
                    if (!multifd.flushReached()) {
                        return false;   // the multifd channels have not all reached this flush's SYNC yet
                    }
                    decoder.release();
                }
                decoder.feed(in);
                return phases.current().ended();
            }
        }

        @Override
        public void closed(Throwable cause) {
            synchronized (IncomingMigration.this) {
                if (number == leg) {
                    IncomingMigration.this.closed(cause);
                }
            }
        }
    }

    // ---- stream sink (event loop) ---------------------------------------------------------

    /** The stream's connection is gone; {@code cause} is null for a plain close. */
    private void closed(Throwable cause) {
        IncomingPhase now = phases.current();
        if (now.ended()) {
            return;
        }
        String reason = cause == null ? "source closed the connection before the end of the stream"
                : cause instanceof StreamFormatException ? "malformed migration stream: " + cause.getMessage()
                : "data-plane connection failed: " + cause.getMessage();
        if (now.acceptsRecovery()) {
            // the source may have sent RUN: the guest may run here on what it has; never dropped for a broken link
            pausePostcopy(reason);
            return;
        }
        if (moveIf(IncomingPhase::cancellable, IncomingPhase.FAILED)) {
            discard(reason);
        }
    }

    /**
     * QEMU's postcopy-paused on the destination: the guest keeps running; an access to a page that
     * has not arrived waits until the source reconnects (it retries) and sends it.
     */
    private void pausePostcopy(String reason) {
        closePreempt();   // even when already paused: one a failed recovery attempt left open
        IncomingPhase now = phases.current();
        if (now.linkLost()) {
            return;   // a recovery attempt's connection went too: the next one attaches as this one did
        }
        phases.moveTo(now.toPaused());
        String why = "post-copy connection from the source lost (" + reason + "): " + (now.demandPaging()
                ? "the guest runs here with " + paging.missing() + " pages still at the source; accesses to them wait"
                : "the guest was not started here yet; it waits") + " for the recovery";
        log.warn("incoming migration {}: {}", jobId, why);
        reporter.report(new MigrationReport(jobId, MigrationPhase.POSTCOPY_PAUSED, why, faultProgress(), null));
    }

    /**
     * Called when the job is cancelled or failed elsewhere before a stream ended. With a stream
     * attached this runs on the stream's own thread and closes it first, so no page is written
     * into a guest being discarded. Ignored once activation was asked for: the control plane's
     * records decide from then on.
     */
    public void abandon(String reason) {
        Runnable stop = () -> {
            IncomingPhase now = phases.current();
            if (now.postcopy()) {
                if (!reportsStopped) {
                    reportsStopped = true;
                    log.warn("incoming migration {}: not abandoned ({}): post-copy may run the guest here", jobId,
                            reason);
                }
                return;
            }
            if (now == IncomingPhase.ACTIVATING) {
                log.warn("incoming migration {}: not abandoned ({}): activation is under way", jobId, reason);
                return;
            }
            if (moveIf(IncomingPhase::cancellable, IncomingPhase.FAILED)) {
                if (connection != null) {
                    connection.close();
                }
                synchronized (this) {
                    closePreempt();
                }
                discard(reason);
            }
        };
        synchronized (this) {
            if (connection == null) {
                stop.run();     // no stream attached: nothing else can touch the guest
                return;
            }
        }
        connection.runOnConnectionThread(stop);
    }

    /**
     * An admin's way out of a stranded post-copy, keeping the guest here: the source's worker is
     * gone, and the control plane has moved the disks here ({@code generations}, by disk id) and
     * failed the job. Every page that has not arrived becomes a zero page (those are lost with the
     * source), so no access waits any more; the images take the granted generations; the guest runs
     * on as an ordinary guest of this worker; the migration ends without another report and lets go
     * of its connections and demand-paging state. Under this object's lock, like the stream: no
     * page is placed meanwhile, and no recovery connection attaches afterwards.
     *
     * @throws IllegalStateException unless the guest runs here in a paused post-copy
     * @throws IllegalArgumentException if a disk of the guest has no generation in {@code generations}
     */
    public synchronized AbandonReport abandonPostcopy(String reason, Map<String, Long> generations) {
        IncomingPhase now = phases.current();
        if (!now.abandonable()) {
            throw new IllegalStateException("migration " + jobId + " is not a paused post-copy running the guest here"
                    + " (" + (now.ended() ? "it has ended" : now.demandPaging() ? "post-copy is active" : "the guest "
                    + "does not run here yet") + ")");
        }
        images.forEach((diskId, image) -> {
            Long granted = generations.get(diskId);
            if (granted == null) {
                throw new IllegalArgumentException("no generation granted for disk " + diskId);
            }
            if (granted < image.activeGeneration()) {
                throw new IllegalStateException("disk " + diskId + " is active here at generation "
                        + image.activeGeneration() + ", newer than the granted " + granted);
            }
        });
        phases.moveTo(IncomingPhase.POSTCOPY_ABANDONED);   // from here no connection is read, no report made
        if (connection != null) {
            connection.close();   // a recovery attempt's, if one is attached
        }
        closePreempt();
        if (!images.isEmpty()) {
            guest.activateDisks(generations);   // already active here since RUN: a no-op for an equal generation
        }
        long lost = paging.fillMissing((block, page) -> blocks.get(block).zeroPage(page));
        guest.endDemandPaging();
        failureReason = "post-copy abandoned, the guest kept here: " + reason;
        verdict.complete(new IncomingRegistry.Verdict(1, failureReason));
        done.accept(jobId, true);
        log.warn("incoming migration {}: {}; {} pages that never arrived are zero pages now; guest {} is {} here",
                jobId, failureReason, lost, guest.id(), guest.state().apiName());
        return new AbandonReport(jobId, AbandonReport.DESTINATION, lost, incoming.report());
    }

    /** Drops the incoming guest from a phase no other thread moves meanwhile (see {@link #discard}). */
    private void fail(String reason) {
        phases.moveTo(IncomingPhase.FAILED);
        discard(reason);
    }

    /**
     * Drops the incoming guest, once in {@link IncomingPhase#FAILED}. The source decides the job's
     * outcome and reports it; it learns this reason on the return path (REASON before SHUT), so
     * only the log records it here.
     */
    private void discard(String reason) {
        failureReason = reason;
        log.warn("incoming migration {} from {} discarded: {}", jobId, remote, reason);
        verdict.complete(new IncomingRegistry.Verdict(1, reason));
        done.accept(jobId, false);
    }

    // ---- stream listener --------------------------------------------------------------------

    @Override
    public void configuration(String machineType) {
        if (!StreamFormat.MACHINE_TYPE.equals(machineType)) {
            throw new StreamFormatException("Machine type received is '" + machineType + "' and local is '"
                    + StreamFormat.MACHINE_TYPE + "'");
        }
    }

    @Override
    public void ramBlocks(List<RamBlockInfo> announced) {
        if (announced.size() != blocks.size()) {
            throw new StreamFormatException("source announced " + announced.size() + " RAM blocks, the incoming guest has "
                    + blocks.size());
        }
        for (int i = 0; i < blocks.size(); i++) {
            RamBlockInfo info = announced.get(i);
            RamBlock mine = blocks.get(i);
            if (!info.idstr().equals(mine.name()) || info.usedLength() != mine.sizeBytes()) {
                throw new StreamFormatException("RAM block " + i + " is '" + info.idstr() + "' of " + info.usedLength()
                        + " bytes at the source but '" + mine.name() + "' of " + mine.sizeBytes() + " bytes here");
            }
        }
        blockListSeen = true;
    }

    @Override
    public void page(int blockIndex, long pageIndex, ByteBuf data) {
        if (phases.current().demandPaging() && !paging.claim(blockIndex, pageIndex)) {
            return;   // present (the guest may have written it since: never overwritten), or the other channel places it
        }
        blocks.get(blockIndex).writePage(pageIndex, data, data.readerIndex());
        received.mark(blockIndex, pageIndex);
        if (paging != null) {
            paging.arrived(blockIndex, pageIndex);
        }
    }

    // ---- post-copy ------------------------------------------------------------------------

    @Override
    public void postcopyAdvise() {
        if (multifd != null) {
            throw new StreamFormatException("POSTCOPY_ADVISE on a job with " + multifd.count() + " multifd channels: "
                    + "a job that may post-copy keeps its pages on the main stream");
        }
        paging = guest.startDemandPaging();
        phases.moveFrom(IncomingPhase.RECEIVING, IncomingPhase.ADVISED);   // a repeated ADVISE only renews the bitmap
    }

    @Override
    public void postcopyDiscard(int blockIndex, long firstPage, long pages) {
        IncomingPhase now = phases.current();
        if (!now.acceptsDiscards()) {
            throw new StreamFormatException("POSTCOPY_RAM_DISCARD " + (now == IncomingPhase.RECEIVING
                    ? "without POSTCOPY_ADVISE" : "after POSTCOPY_RUN"));
        }
        paging.discard(blockIndex, firstPage, pages);
    }

    @Override
    public void postcopyListen() {
        if (phases.is(IncomingPhase.RECEIVING)) {
            throw new StreamFormatException("POSTCOPY_LISTEN without POSTCOPY_ADVISE");
        }
        phases.moveFrom(IncomingPhase.ADVISED, IncomingPhase.LISTENING);   // a repeated LISTEN changes nothing
    }

    /** Recovery: which pages arrived here, so the source sends the rest again. */
    @Override
    public void recvBitmap(int blockIndex) {
        if (!phases.current().recovering()) {
            throw new StreamFormatException("RECV_BITMAP outside a post-copy recovery");
        }
        connection.send(new ReturnPathMessage.ReceivedBitmap(blocks.get(blockIndex).name(),
                paging.presentWords(blockIndex)));
    }

    /** Recovery done: acknowledged, and every page still waited for is asked for again. */
    @Override
    public void postcopyResume() {
        IncomingPhase now = phases.current();
        if (!now.recovering()) {
            throw new StreamFormatException("POSTCOPY_RESUME outside a post-copy recovery");
        }
        phases.moveTo(now.toResumed());
        connection.send(new ReturnPathMessage.ResumeAck(1));
        paging.requestAgain();
        log.info("incoming migration {}: post-copy resumed; {} pages still to come", jobId, paging.missing());
    }

    /**
     * The guest may run here now, with the pages it lacks fetched on demand: after the same checks
     * as at the end of a pre-copy stream, and, with disks, after the control plane's activation.
     */
    @Override
    public void postcopyRun() {
        IncomingPhase now = phases.current();
        if (now.runSeen()) {
            return;   // sent again after a recovery, in case the first never arrived
        }
        // QEMU's order, ADVISE, LISTEN, RUN: only from LISTEN on is a broken link recovered from
        String problem = now == IncomingPhase.RECEIVING ? "POSTCOPY_RUN without POSTCOPY_ADVISE"
                : now == IncomingPhase.ADVISED ? "POSTCOPY_RUN without POSTCOPY_LISTEN" : checkDeviceAndImages();
        if (problem != null) {
            fail(problem);
            return;
        }
        if (images.isEmpty()) {
            runPostcopy("no disks to activate");
            return;
        }
        phases.moveTo(now.toRunPending());
        Thread activation = new Thread(() -> {
            MDC.put("jobId", jobId.toString());
            try {
                OwnershipArbiter.Answer answer = arbiter.step(jobId, HandoffStep.ACTIVATE_POSTCOPY,
                        spec.baseGenerations(), spec.handoffTimeout());
                while (answer.verdict() == OwnershipArbiter.Verdict.UNREACHABLE) {
                    // it may have been applied with its answer lost: ask again (the step is idempotent for this
                    // job, and a compare-and-set: the source's re-activation, if it came first, refuses it)
                    log.warn("incoming migration {}: activation unanswered ({}); asking again", jobId,
                            answer.detail());
                    Thread.sleep(RESOLVE_POLL.toMillis());
                    answer = arbiter.step(jobId, HandoffStep.ACTIVATE_POSTCOPY, spec.baseGenerations(),
                            spec.handoffTimeout());
                }
                OwnershipArbiter.Answer decided = answer;
                synchronized (this) {
                    if (decided.verdict() == OwnershipArbiter.Verdict.GRANTED) {
                        guest.activateDisks(decided.generations());
                        runPostcopy("disks activated at generation " + decided.generations().values());
                    } else {
                        fail("post-copy could not start: the disks were not activated here ("
                                + decided.detail() + ")");
                        connection.close();
                        closePreempt();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                MDC.remove("jobId");
            }
        }, "activation-" + jobId);
        activation.setDaemon(true);
        activation.start();
    }

    /** The guest runs here from now on. Caller holds this. */
    private void runPostcopy(String why) {
        IncomingPhase now = phases.current();
        if (now == IncomingPhase.EOF_PENDING) {
            // every page's record came while the disks were being activated: the end is decided at once
            synchronized (ending) {
                phases.moveTo(IncomingPhase.DRAINING);
                startGuest(why);
                finishPostcopy();
            }
            return;
        }
        phases.moveTo(now.toGuestRunning());
        startGuest(why);
        reportFaults();
        IncomingRegistry.ConnectionControl running = connection;
        faults.reach(FaultInjector.Step.POSTCOPY_RUNNING, jobId, running::close);
    }

    private void startGuest(String why) {
        connection.shallowBuffers();
        paging.start((block, page) -> requests().send(new ReturnPathMessage.RequestPages(
                blocks.get(block).name(), page * StreamFormat.PAGE_SIZE, StreamFormat.PAGE_SIZE)));
        incoming.changeState(runState.equals("paused") ? GuestState.PAUSED : GuestState.RUNNING);
        log.info("incoming migration {}: post-copy, guest {} runs here with {} pages to come ({})", jobId, guest.id(),
                paging.missing(), why);
    }

    /**
     * Where page requests go: the preempt channel's return path when there is one (its thread is
     * not busy decoding the background push), else the main channel's, as in QEMU.
     */
    private IncomingRegistry.ConnectionControl requests() {
        IncomingRegistry.ConnectionControl to = preempt;
        return to != null ? to : connection;
    }

    /** The destination's side of post-copy progress: fault latencies, every second until the end. */
    private void reportFaults() {
        if (phases.current().ended() || reportsStopped) {
            return;
        }
        reporter.report(new MigrationReport(jobId, MigrationPhase.PROGRESS, null, faultProgress(), null));
        FAULT_REPORTS.schedule(this::reportFaults, 1, java.util.concurrent.TimeUnit.SECONDS);
    }

    private MigrationProgress faultProgress() {
        return new MigrationProgress(0, 0, null, null, null, null, new MigrationProgress.Postcopy(0, 0, 0, 0, 0,
                MigrationProgress.FaultLatency.of(faultLatencies())), null);
    }

    private static final java.util.concurrent.ScheduledExecutorService FAULT_REPORTS =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "fault-reports");
                t.setDaemon(true);
                return t;
            });

    /**
     * Post-copy: the pages of RAM block {@code blockIndex} that are here (bit p of word p/64), a
     * snapshot; null before the source advised post-copy.
     */
    public long[] arrivedPages(int blockIndex) {
        DemandPaging pages = paging;
        return pages == null ? null : pages.presentWords(blockIndex);
    }

    /** This side's post-copy page faults: how long each access waited for its page, sorted, in nanoseconds. */
    public long[] faultLatencies() {
        return paging == null ? new long[0] : paging.faultLatencies();
    }

    /** Ferry's own FULL sections beside its device state, each be32 length + text. */
    @Override
    public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
        return idstr.equals(FerrySections.VERIFY) || idstr.equals(FerrySections.RUN_STATE)
                ? DeviceSectionFormat.lengthPrefixed() : null;
    }

    @Override
    public void zeroPage(int blockIndex, long pageIndex, int fill) {
        if (phases.current().demandPaging() && !paging.claim(blockIndex, pageIndex)) {
            return;
        }
        zeroPageNow(blockIndex, pageIndex, fill);
        if (paging != null) {
            paging.arrived(blockIndex, pageIndex);
        }
    }

    private void zeroPageNow(int blockIndex, long pageIndex, int fill) {
        RamBlock block = blocks.get(blockIndex);
        boolean sentBefore = received.mark(blockIndex, pageIndex);
        if (fill == 0) {
            if (sentBefore) {
                block.zeroPage(pageIndex);   // an older copy arrived: zero it (a page never sent is zero already)
            }
        } else {
            ByteBuf filled = Unpooled.buffer(StreamFormat.PAGE_SIZE).writeZero(StreamFormat.PAGE_SIZE);
            for (int i = 0; i < StreamFormat.PAGE_SIZE; i++) {
                filled.setByte(i, fill);
            }
            block.writePage(pageIndex, filled);
            filled.release();
        }
    }

    // ---- block migration (storage: copy) -----------------------------------------------------

    @Override
    public void blockSectionStart() {
        imageCopy.sectionStart();
    }

    @Override
    public void blockChunk(String device, long byteOffset, boolean zero) {
        imageCopy.chunk(device, byteOffset, zero);
    }

    @Override
    public void blockData(long offsetInChunk, ByteBuf data) {
        imageCopy.data(offsetInChunk, data);
    }

    @Override
    public void endOfBlockSection(byte sectionType) {
        imageCopy.sectionEnd(sectionType);
    }

    // ---- end of stream ----------------------------------------------------------------------

    @Override
    public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
        if (phases.current().runSeen()) {
            return;   // sent again after a recovery; the guest runs (or is about to) on the first copy
        }
        if (idstr.equals(FerrySections.RUN_STATE)) {
            runState = FerrySections.text(payload);
            if (!runState.equals("running") && !runState.equals("paused")) {
                throw new StreamFormatException("unknown run state '" + runState + "'");
            }
        } else if (idstr.equals(FerrySections.VERIFY)) {
            sourceDigests = FerrySections.digests(payload);
        } else if (idstr.equals(StreamFormat.DEVICE_STATE_SECTION)) {
            deviceState = ByteBufUtil.getBytes(payload);
        } else {
            throw new StreamFormatException("Unknown savevm section '" + idstr + "'");
        }
    }

    @Override
    public void endOfStream() {
        IncomingPhase now = phases.current();
        if (now.runSeen() && !now.demandPaging()) {
            phases.moveTo(IncomingPhase.EOF_PENDING);   // the activation thread runs the guest, then ends the stream
            return;
        }
        if (now.demandPaging()) {
            synchronized (ending) {
                phases.moveTo(IncomingPhase.DRAINING);
                finishPostcopy();
            }
            return;
        }
        phases.moveTo(IncomingPhase.CHECKING);
        String problem = check();
        if (problem != null) {
            fail(problem);
            return;
        }
        if (images.isEmpty()) {
            resume("no disks to activate");
            return;
        }
        phases.moveTo(IncomingPhase.ACTIVATING);
        Thread activation = new Thread(this::activate, "activation-" + jobId);
        activation.setDaemon(true);
        activation.start();
    }

    /**
     * Post-copy's end, once EOF was read ({@link IncomingPhase#DRAINING}): SHUT(0) when every page
     * is here. Requested pages the source sent on the preempt channel before EOF may still be on
     * their way; while that channel is open the end waits for them (called again as they arrive,
     * and when it closes).
     */
    private void finishPostcopy() {
        synchronized (ending) {
            if (!phases.is(IncomingPhase.DRAINING)) {
                return;   // decided already
            }
            // DRAINING was set before this count: a page the preempt channel places meanwhile is counted, or calls again
            boolean preemptOpen = preempt != null;
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
                phases.moveTo(IncomingPhase.POSTCOPY_INCOMPLETE);
                // the guest runs here: it is not dropped; the source learns of the gap
                failureReason = "post-copy stream ended with " + missing + " pages never sent";
                log.error("incoming migration {}: {}", jobId, failureReason);
                verdict.complete(new IncomingRegistry.Verdict(1, failureReason));
                return;
            }
            phases.moveTo(IncomingPhase.POSTCOPY_COMPLETED);
        }
        guest.endDemandPaging();
        long[] faults = paging.faultLatencies();
        reporter.report(new MigrationReport(jobId, MigrationPhase.PROGRESS, null, faultProgress(), null));
        reporter.report(new MigrationReport(jobId, MigrationPhase.COMPLETED, "post-copy complete: every page is "
                + "on the destination, which runs the guest", null, null));
        log.info("incoming migration {}: post-copy complete, every page here; {} page faults", jobId, faults.length);
        verdict.complete(new IncomingRegistry.Verdict(0, null));
        done.accept(jobId, true);
    }

    /** Null when the received guest may run; otherwise why not. */
    private String check() {
        String problem = checkDeviceAndImages();
        if (problem != null) {
            return problem;
        }
        return verifyChecksums();
    }

    /** The device state loads and the copied images are complete and flushed; null when so. */
    private String checkDeviceAndImages() {
        if (!blockListSeen) {
            return "stream ended without a RAM block list";
        }
        if (deviceState == null) {
            return "stream ended without the device state";
        }
        String imagesIncomplete = imageCopy.incomplete();
        if (imagesIncomplete != null) {
            return imagesIncomplete;
        }
        try {
            guest.loadDeviceState(deviceState);
            long flushStart = System.nanoTime();
            imageCopy.flush();
            if (spec.copyImages() && !images.isEmpty()) {
                log.info("incoming migration {}: copied images flushed to storage in {} ms", jobId,
                        (System.nanoTime() - flushStart) / 1_000_000);
            }
        } catch (RuntimeException e) {
            return "device state or images refused: " + e.getMessage();
        }
        return null;
    }

    private String verifyChecksums() {
        if (spec.verifyChecksums()) {
            if (sourceDigests == null) {
                return "verifyChecksums was requested but the source sent no digests";
            }
            GuestChecksums sums = guest.checksums();
            List<String> disks = sums.disks().stream().map(GuestChecksums.DiskChecksum::sha256).toList();
            reporter.report(new MigrationReport(jobId, MigrationPhase.VERIFIED, "destination digests", new MigrationProgress(
                    0, 0, null, null, null, null, null, new MigrationProgress.Verification(null, sums.memory(), null,
                    sums.deviceState(), null, disks)), null));
            if (!sums.memory().equals(sourceDigests.memory())) {
                return "memory checksum mismatch: source " + sourceDigests.memory() + ", destination " + sums.memory();
            }
            if (!sums.deviceState().equals(sourceDigests.deviceState())) {
                return "device state checksum mismatch";
            }
            if (!disks.equals(sourceDigests.disks())) {
                return "disk image checksum mismatch: source " + sourceDigests.disks() + ", destination " + disks;
            }
        }
        return null;
    }

    /** Off the event loop: the control plane's CAS, then run or drop the guest as it decides. */
    private void activate() {
        MDC.put("jobId", jobId.toString());
        try {
            OwnershipArbiter.Answer answer = arbiter.step(jobId, HandoffStep.ACTIVATE, spec.baseGenerations(),
                    spec.handoffTimeout());
            switch (answer.verdict()) {
                case GRANTED -> activated(answer);
                case REFUSED -> fail("the control plane refused to activate the disks here: " + answer.detail());
                case UNREACHABLE -> {
                    // Tell the source to fail back now, then wait for the records: ours may have won.
                    failureReason = "could not activate the disks: " + answer.detail()
                            + "; the source decides (re-activation) and this side follows the control plane's records";
                    verdict.complete(new IncomingRegistry.Verdict(1, failureReason));
                    resolve();
                }
            }
        } catch (InterruptedException e) {
            log.warn("incoming migration {}: worker stopping before the hand-off was decided; the guest is dropped "
                    + "unactivated", jobId);
            phases.moveTo(IncomingPhase.FAILED);
            done.accept(jobId, false);
        } catch (RuntimeException e) {
            log.error("incoming migration {}: activation failed", jobId, e);
            if (phases.is(IncomingPhase.ACTIVATING)) {
                fail("activation failed: " + e);
            }
        } finally {
            MDC.remove("jobId");
        }
    }

    private void activated(OwnershipArbiter.Answer answer) {
        guest.activateDisks(answer.generations());
        faults.reach(FaultInjector.Step.DESTINATION_ACTIVATED, jobId, () -> {
            if (connection != null) {
                connection.close();
            }
        });
        resume("disks activated at generation " + answer.generations().values());
    }

    private void resume(String why) {
        incoming.changeState(runState.equals("paused") ? GuestState.PAUSED : GuestState.RUNNING);
        phases.moveTo(IncomingPhase.COMPLETED);
        log.info("incoming migration {} complete: guest {} {} here ({})", jobId, guest.id(),
                runState.equals("paused") ? "kept paused, as on the source," : "resumed", why);
        verdict.complete(new IncomingRegistry.Verdict(0, null));
        done.accept(jobId, true);
    }

    /** Waits until the records say whether this side's activation won. Never guesses. */
    private void resolve() throws InterruptedException {
        while (true) {
            OwnershipArbiter.Answer now = arbiter.read(jobId, spec.handoffTimeout());
            if (now.verdict() == OwnershipArbiter.Verdict.GRANTED) {
                if (now.disks().stream().allMatch(this::activeHere)) {
                    log.warn("incoming migration {}: the control plane had granted the activation; running the guest",
                            jobId);
                    activated(now);
                    return;
                }
                if (!now.disks().stream().allMatch(this::stillHandedOff)) {
                    fail("the source took the disks back: " + now.disks());
                    return;
                }
            } else if (now.verdict() == OwnershipArbiter.Verdict.REFUSED) {
                fail("the control plane no longer knows job " + jobId + ": " + now.detail());
                return;
            }
            Thread.sleep(RESOLVE_POLL.toMillis());
        }
    }

    private boolean activeHere(OwnershipGrant.Disk disk) {
        Long base = spec.baseGenerations().get(disk.diskId().toString());
        return base != null && disk.state() == OwnershipState.ACTIVE && disk.ownerHostId().equals(spec.hostId())
                && disk.generation() == base + 2;
    }

    private boolean stillHandedOff(OwnershipGrant.Disk disk) {
        Long base = spec.baseGenerations().get(disk.diskId().toString());
        return base != null && disk.state() == OwnershipState.HANDOFF && disk.generation() == base + 1;
    }
}
