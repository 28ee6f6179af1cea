package io.ferry.migration.target;

import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FerrySections;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.transport.IncomingRegistry;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination of one migration: an incoming guest (memory allocated once, disks opened,
 * nothing running) that the stream decoder writes into. At EOF the stream is checked (device
 * state present; with verifyChecksums, memory and device-state digests equal the source's),
 * and only then is the guest resumed and SHUT(0) answered. Anything else discards the incoming
 * guest; the source keeps its own.
 */
public final class IncomingMigration
        implements IncomingRegistry.IncomingEndpoint, IncomingRegistry.StreamSink, StreamListener {

    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);

    private final UUID jobId;
    private final byte[] secret;
    private final MigratingGuest incoming;
    private final SyntheticGuest guest;
    private final List<RamBlock> blocks;
    private final boolean verifyChecksums;
    private final MigrationReporter reporter;
    /** Called once with (jobId, resumed?) when the migration ends either way. */
    private final BiConsumer<UUID, Boolean> done;
    private final StreamDecoder decoder;

    private boolean blockListSeen;
    private byte[] deviceState;
    private String runState = "running";
    private String sourceMemoryDigest;
    private String sourceDeviceDigest;
    /** Written on the connection's thread, or under this object's lock before a stream attached. */
    private volatile boolean ended;
    private int shutStatus = 1;
    private String remote;
    private String failureReason;
    private volatile IncomingRegistry.ConnectionControl connection;

    public IncomingMigration(UUID jobId, byte[] secret, MigratingGuest incoming, boolean verifyChecksums,
                             MigrationReporter reporter, BiConsumer<UUID, Boolean> done) {
        this.jobId = jobId;
        this.secret = secret.clone();
        this.incoming = incoming;
        this.guest = incoming.guest();
        this.blocks = guest.memory().blocks();
        this.verifyChecksums = verifyChecksums;
        this.reporter = reporter;
        this.done = done;
        this.decoder = new StreamDecoder(this, DecoderLimits.defaults());
    }

    public UUID jobId() {
        return jobId;
    }

    @Override
    public byte[] secret() {
        return secret;
    }

    @Override
    public synchronized IncomingRegistry.StreamSink attach(String remoteAddress,
                                                            IncomingRegistry.ConnectionControl connection) {
        if (ended) {
            throw new IllegalStateException("incoming migration " + jobId + " was abandoned");
        }
        this.remote = remoteAddress;
        this.connection = connection;
        return this;
    }

    // ---- stream sink (event loop) ---------------------------------------------------------

    @Override
    public boolean feed(ByteBuf in) {
        if (ended) {
            in.skipBytes(in.readableBytes());
            return true;
        }
        decoder.feed(in);
        return ended;
    }

    @Override
    public int shutStatus() {
        return shutStatus;
    }

    @Override
    public String failureReason() {
        return failureReason;
    }

    @Override
    public void closed(Throwable cause) {
        if (ended) {
            return;
        }
        ended = true;
        String reason = cause == null ? "source closed the connection before the end of the stream"
                : cause instanceof StreamFormatException ? "malformed migration stream: " + cause.getMessage()
                : "data-plane connection failed: " + cause.getMessage();
        discard(reason);
    }

    /**
     * Called when the job is cancelled or failed elsewhere before a stream ended. With a stream
     * attached this runs on the stream's own thread and closes it first, so no page is written
     * into a guest being discarded.
     */
    public void abandon(String reason) {
        Runnable stop = () -> {
            if (!ended) {
                ended = true;
                if (connection != null) {
                    connection.close();
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
     * Drops the incoming guest. The source decides the job's outcome and reports it; it learns
     * this reason on the return path (REASON before SHUT), so only the log records it here.
     */
    private void discard(String reason) {
        failureReason = reason;
        log.warn("incoming migration {} from {} discarded: {}", jobId, remote, reason);
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
        blocks.get(blockIndex).writePage(pageIndex, data, data.readerIndex());
    }

    /** Ferry's own FULL sections beside its device state, each be32 length + text. */
    @Override
    public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
        return idstr.equals(FerrySections.VERIFY) || idstr.equals(FerrySections.RUN_STATE)
                ? DeviceSectionFormat.lengthPrefixed() : null;
    }

    @Override
    public void zeroPage(int blockIndex, long pageIndex, int fill) {
        RamBlock block = blocks.get(blockIndex);
        if (fill == 0) {
            block.zeroPage(pageIndex);
        } else {
            ByteBuf filled = Unpooled.buffer(StreamFormat.PAGE_SIZE).writeZero(StreamFormat.PAGE_SIZE);
            for (int i = 0; i < StreamFormat.PAGE_SIZE; i++) {
                filled.setByte(i, fill);
            }
            block.writePage(pageIndex, filled);
            filled.release();
        }
    }

    @Override
    public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
        if (idstr.equals(FerrySections.RUN_STATE)) {
            runState = FerrySections.text(payload);
            if (!runState.equals("running") && !runState.equals("paused")) {
                throw new StreamFormatException("unknown run state '" + runState + "'");
            }
        } else if (idstr.equals(FerrySections.VERIFY)) {
            String[] digests = FerrySections.text(payload).split(":");
            if (digests.length != 2) {
                throw new StreamFormatException("malformed " + FerrySections.VERIFY + " section");
            }
            sourceMemoryDigest = digests[0];
            sourceDeviceDigest = digests[1];
        } else if (idstr.equals(StreamFormat.DEVICE_STATE_SECTION)) {
            deviceState = ByteBufUtil.getBytes(payload);
        } else {
            throw new StreamFormatException("Unknown savevm section '" + idstr + "'");
        }
    }

    @Override
    public void endOfStream() {
        ended = true;
        String problem = check();
        if (problem != null) {
            shutStatus = 1;
            discard(problem);
            return;
        }
        incoming.changeState(runState.equals("paused") ? GuestState.PAUSED : GuestState.RUNNING);
        shutStatus = 0;
        log.info("incoming migration {} complete: guest {} {} here", jobId, guest.id(),
                runState.equals("paused") ? "kept paused, as on the source," : "resumed");
        done.accept(jobId, true);
    }

    /** Null when the received guest may run; otherwise why not. */
    private String check() {
        if (!blockListSeen) {
            return "stream ended without a RAM block list";
        }
        if (deviceState == null) {
            return "stream ended without the device state";
        }
        try {
            guest.loadDeviceState(deviceState);
        } catch (RuntimeException e) {
            return "device state refused: " + e.getMessage();
        }
        if (verifyChecksums) {
            if (sourceMemoryDigest == null) {
                return "verifyChecksums was requested but the source sent no digests";
            }
            GuestChecksums sums = guest.checksums();
            reporter.report(new MigrationReport(jobId, MigrationReport.VERIFIED, "destination digests", new MigrationProgress(
                    0, 0, null, null, null, new MigrationProgress.Verification(null, sums.memory(), null,
                    sums.deviceState())), null));
            if (!sums.memory().equals(sourceMemoryDigest)) {
                return "memory checksum mismatch: source " + sourceMemoryDigest + ", destination " + sums.memory();
            }
            if (!sums.deviceState().equals(sourceDeviceDigest)) {
                return "device state checksum mismatch";
            }
        }
        return null;
    }
}
