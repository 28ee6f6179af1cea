package io.ferry.migration.outgoing;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationProgress;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.PageChannels;
import io.ferry.migration.compression.PageCompression;
import io.ferry.migration.compression.PageCompressor;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.migration.transport.TlsSession;
import io.ferry.wire.Handshake;
import io.ferry.wire.ReturnPathMessage;
import io.netty.channel.EventLoopGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections of one outgoing migration, each opened with the job's handshake and this
 * worker's data-plane security: the main stream, QEMU's multifd channels, and post-copy's preempt
 * channel. Opened and closed by the migration thread; written through {@link StreamWriter}.
 */
final class Channels {

    private static final Logger log = LoggerFactory.getLogger(Channels.class);
    private static final long HANDSHAKE_TIMEOUT_MS = 10_000;

    private final OutgoingMigration.Spec spec;
    /** How the job's pages travel; a job that may post-copy and compress is refused here, before it starts. */
    private final PageChannels pages;
    private final EventLoopGroup group;
    /** Set before the migration runs (a start of its thread publishes it). */
    private DataPlaneSecurity security = DataPlaneSecurity.plain();
    /** How the main connection is protected, for the job's view; null until it is open. */
    private volatile MigrationProgress.DataPlane dataPlane;
    private OutgoingConnection main;
    /** QEMU's multifd channels, null when pages go on the main stream (one plain channel). */
    private volatile MultifdSender multifd;
    /**
     * Post-copy's preempt channel (QEMU's postcopy-preempt), null without one: requested pages go
     * there, so they never wait behind background pages in the main channel's buffers. Opened with
     * the main connection when the job may post-copy, again after a recovery.
     */
    private OutgoingConnection preempt;

    Channels(OutgoingMigration.Spec spec, EventLoopGroup group) {
        this.spec = spec;
        this.pages = PageChannels.of(spec.settings());
        this.group = group;
    }

    void secureWith(DataPlaneSecurity security) {
        this.security = Objects.requireNonNull(security, "security");
    }

    OutgoingConnection main() {
        return main;
    }

    MultifdSender multifd() {
        return multifd;
    }

    OutgoingConnection preempt() {
        return preempt;
    }

    MigrationProgress.DataPlane dataPlane() {
        return dataPlane;
    }

    /** The job's main channel (first, and again after a recovery). */
    OutgoingConnection openMain() throws InterruptedException {
        main = OutgoingConnection.open(security, group, spec.destinationAddress(), spec.jobId(), spec.secret(),
                Handshake.Channel.MAIN, HANDSHAKE_TIMEOUT_MS);
        TlsSession tls = main.tlsSession();
        dataPlane = tls == null ? MigrationProgress.DataPlane.PLAIN
                : new MigrationProgress.DataPlane(true, tls.protocol(), tls.cipher(), tls.provider());
        return main;
    }

    /**
     * The preempt channel, when the job may post-copy; the destination sends its page requests on
     * its return path, to {@code returnPath}. A destination that refuses it (one that knows only the
     * main channel) or a failure to open it leaves the job on the main channel alone: false.
     */
    boolean openPreempt(Consumer<ReturnPathMessage> returnPath) throws InterruptedException {
        preempt = null;
        if (!spec.settings().postcopy().enabled()) {
            return false;
        }
        try {
            preempt = OutgoingConnection.open(security, loopApartFromMain(), spec.destinationAddress(), spec.jobId(),
                    spec.secret(), Handshake.Channel.POSTCOPY_PREEMPT, HANDSHAKE_TIMEOUT_MS);
            preempt.onReturnPath(returnPath);
            return true;
        } catch (MigrationFailure refused) {
            log.warn("no post-copy preempt channel, requested pages share the main one: {}", refused.getMessage());
            return false;
        }
    }

    /**
     * An event loop of the group other than the main connection's, when there is one: the preempt
     * channel's thread serves page requests itself (post-copy's fault path), so it must not be the
     * thread busy flushing the background push.
     */
    private EventLoopGroup loopApartFromMain() {
        io.netty.channel.EventLoop mainLoop = main == null ? null : main.eventLoop();
        int loops = 0;
        for (io.netty.util.concurrent.EventExecutor ignored : group) {
            loops++;
        }
        for (int tried = 0; tried < loops; tried++) {
            io.netty.channel.EventLoop loop = group.next();   // round robin, as the group spreads connections
            if (loop != mainLoop) {
                return loop;
            }
        }
        return group;
    }

    /**
     * The job's multifd channels, or none for one plain channel ({@link PageChannels}: a compressed
     * job of one channel opens one). A job that may post-copy uses them for its pre-copy rounds
     * only, as QEMU from 10.0 ({@link RamPart#syncForPostcopy}).
     */
    void openMultifd() throws InterruptedException {
        if (!pages.multifd()) {
            return;
        }
        int count = pages.count();
        ConvergenceSettings.Compression compression = spec.settings().convergence().compression();
        PageCompressor compressor = compression.enabled() ? PageCompression.compressor(compression) : null;
        List<OutgoingConnection> opened = new ArrayList<>();
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
            if (compressor != null) {
                compressor.close();
            }
            throw e;
        }
        log.info("pages travel on {} multifd channels, compression {}", count, compression.enabled()
                ? compression.method().apiName() + " level " + compression.level() : "none");
        multifd = MultifdSender.start(spec.jobId(), opened, compressor);
    }

    /** Multifd compression's figures so far; null when the job does not compress (or before its channels open). */
    MigrationProgress.Compression compressionProgress() {
        MultifdSender sender = multifd;
        return sender == null ? null : sender.compressionProgress();
    }

    void close() {
        if (main != null) {
            main.close();
        }
        if (multifd != null) {
            multifd.close();
        }
        if (preempt != null) {
            preempt.close();
        }
    }
}
