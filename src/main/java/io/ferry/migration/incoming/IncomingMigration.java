package io.ferry.migration.incoming;

import io.ferry.channel.AbandonReport;
import io.ferry.guest.DiskImage;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PageChannels;
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
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>This class holds the connections (the main stream, a recovery's, the multifd channels), the
 * stream's callbacks, and the failures that drop the guest. Placing RAM pages is {@link RamPlacement}'s, the end
 * of the stream {@link IncomingCompletion}'s, post-copy {@link PostcopyDestination}'s, the multifd
 * channels {@link MultifdReceiver}'s. Where it stands is one {@link IncomingPhase}, moved only
 * along that enum's table.
 */
public final class IncomingMigration
        implements IncomingRegistry.IncomingEndpoint, StreamListener {

    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);

    /**
     * Parameters of one incoming migration. {@code baseGenerations} are the disks' generations
     * at job start (ACTIVE on the source), by disk id; {@code pages} how the pages arrive.
     */
    public record Spec(UUID jobId, String hostId, byte[] secret, boolean verifyChecksums, boolean copyImages,
                       Map<String, Long> baseGenerations, Duration handoffTimeout, PageChannels pages) {
    }

    private final Spec spec;
    private final UUID jobId;
    private final ImageCopyReceiver imageCopy;
    private final FaultInjector faults;
    private final Outcome outcome;
    private final StreamDecoder decoder;
    /** QEMU's multifd channels beside the main stream; null when the job has one plain channel. */
    private final MultifdReceiver multifd;
    private final IncomingCompletion completion;
    private final PostcopyDestination postcopy;
    /** Post-copy's preempt channel: its connection is guarded by this, like the main stream's. */
    private final PreemptChannel preempt;
    /** The stream's RAM pages placed into the guest's memory. */
    private final RamPlacement ram;

    /**
     * Where this side stands. Moved under this object's lock by the stream, recovery and the
     * activation threads; by compare-and-set alone where a cancel or a lost multifd channel races the
     * stream to drop the guest; into and out of {@link IncomingPhase#DRAINING} under post-copy's end lock.
     */
    private final PhaseMachine<IncomingPhase> phases;
    private String remote;
    private volatile IncomingRegistry.ConnectionControl connection;
    /** Which connection is the stream's: a recovery attaches a new one; bytes of an older one are ignored. */
    private int leg;

    public IncomingMigration(Spec spec, MigratingGuest incoming, MigrationReporter reporter, OwnershipArbiter arbiter,
                             FaultInjector faults, BiConsumer<UUID, Boolean> done) {
        this.spec = spec;
        this.jobId = spec.jobId();
        this.phases = new PhaseMachine<>("incoming migration " + jobId, IncomingPhase.RECEIVING, IncomingPhase::next);
        SyntheticGuest guest = incoming.guest();
        List<RamBlock> blocks = guest.memory().blocks();
        Map<String, DiskImage> images = new HashMap<>();
        guest.spec().disks().forEach(d -> images.put(d.diskId(), guest.disk(d.diskId())));
        this.imageCopy = new ImageCopyReceiver(images, spec.copyImages());
        this.faults = faults;
        ReceivedPages received = new ReceivedPages(blocks);
        this.multifd = spec.pages().multifd()
                ? new MultifdReceiver(jobId, spec.pages(), blocks, received, this::multifdChannelLost) : null;
        this.outcome = new Outcome(jobId, multifd == null ? done : multifd.stoppedBeforeDrop(done));
        IncomingJob job = new IncomingJob(spec, incoming, images, phases, outcome, reporter, arbiter, faults, this,
                () -> connection, this::fail);
        this.completion = new IncomingCompletion(job, imageCopy);
        this.postcopy = new PostcopyDestination(job, completion, this);
        this.preempt = postcopy.preempt();
        this.ram = new RamPlacement(blocks, received, phases, postcopy);
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
            preempt.close();           // the source opens a new one with the new stream
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
        return preempt.attach(remoteAddress, connection);
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
            if (!IncomingPhase.moveIf(phases, IncomingPhase::cancellable, IncomingPhase.FAILED)) {
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

    /** The stream as one connection sees it; once a newer connection took over, this one is ignored. */
    private final class Leg extends Outcome.Sink {

        private final int number;

        Leg(int number) {
            super(outcome);
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
            postcopy.pause(reason);
            return;
        }
        if (IncomingPhase.moveIf(phases, IncomingPhase::cancellable, IncomingPhase.FAILED)) {
            discard(reason);
        }
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
                postcopy.stopReports(reason);
                return;
            }
            if (now == IncomingPhase.ACTIVATING) {
                log.warn("incoming migration {}: not abandoned ({}): activation is under way", jobId, reason);
                return;
            }
            if (IncomingPhase.moveIf(phases, IncomingPhase::cancellable, IncomingPhase.FAILED)) {
                if (connection != null) {
                    connection.close();
                }
                synchronized (this) {
                    preempt.close();
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
        return postcopy.abandon(reason, generations);
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
        log.warn("incoming migration {} from {} discarded: {}", jobId, remote, reason);
        outcome.refused(reason);
        outcome.ended(false);
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
        completion.ramBlocks(announced);
    }

    @Override
    public void page(int blockIndex, long pageIndex, ByteBuf data) {
        ram.page(blockIndex, pageIndex, data);
    }

    @Override
    public void zeroPage(int blockIndex, long pageIndex, int fill) {
        ram.zeroPage(blockIndex, pageIndex, fill);
    }

    @Override
    public void xbzrlePage(int blockIndex, long pageIndex, ByteBuf encoding) {
        ram.xbzrlePage(blockIndex, pageIndex, encoding);
    }

    // ---- post-copy (PostcopyDestination) ------------------------------------------------------

    @Override
    public void postcopyAdvise() {
        postcopy.advise();
    }

    @Override
    public void postcopyDiscard(int blockIndex, long firstPage, long pages) {
        postcopy.discard(blockIndex, firstPage, pages);
    }

    @Override
    public void postcopyListen() {
        postcopy.listen();
    }

    @Override
    public void recvBitmap(int blockIndex) {
        postcopy.recvBitmap(blockIndex);
    }

    @Override
    public void postcopyResume() {
        postcopy.resume();
    }

    @Override
    public void postcopyRun() {
        postcopy.run();
    }

    /**
     * Post-copy: the pages of RAM block {@code blockIndex} that are here (bit p of word p/64), a
     * snapshot; null before the source advised post-copy.
     */
    public long[] arrivedPages(int blockIndex) {
        return postcopy.arrivedPages(blockIndex);
    }

    /** This side's post-copy page faults: how long each access waited for its page, sorted, in nanoseconds. */
    public long[] faultLatencies() {
        return postcopy.faultLatencies();
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

    // ---- end of stream (IncomingCompletion; after RUN, PostcopyDestination) -------------------

    @Override
    public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
        return completion.deviceSectionFormat(idstr);
    }

    @Override
    public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
        completion.deviceState(idstr, payload);
    }

    @Override
    public void endOfStream() {
        IncomingPhase now = phases.current();
        if (now.runSeen()) {
            postcopy.endOfStream(now);
            return;
        }
        completion.endOfStream();
    }
}
