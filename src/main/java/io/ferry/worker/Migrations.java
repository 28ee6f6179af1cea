package io.ferry.worker;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.StorageMode;
import io.ferry.channel.AbandonCommand;
import io.ferry.channel.AbandonReport;
import io.ferry.channel.MigrationKnowledge;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.StartIncomingCommand;
import io.ferry.channel.StartOutgoingCommand;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.TuneMigrationCommand;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PageChannels;
import java.time.Duration;
import java.util.LinkedHashMap;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.ferry.migration.incoming.IncomingMigration;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.IncomingRegistry;
import io.netty.channel.EventLoopGroup;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migrations this worker takes part in: incoming ones waiting for (or receiving) their
 * stream, outgoing ones running on their own threads. A cancel that arrives before its job's
 * start is remembered, so the late start ends at once instead of running.
 */
final class Migrations implements IncomingRegistry {

    private static final Logger log = LoggerFactory.getLogger(Migrations.class);

    private final String hostId;
    private final GuestHost guests;
    private final EventLoopGroup io;
    private final MigrationReporter reporter;
    private final OwnershipArbiter arbiter;
    private final FaultInjector faults;
    private final Duration handoffTimeout;
    private final WorkerMetrics metrics;
    private final DataPlaneSecurity security;
    /** This host's outgoing migrations pause one at a time (they share its cores). */
    private final io.ferry.migration.outgoing.PauseGate pauses = new io.ferry.migration.outgoing.PauseGate();
    /** Incoming jobs whose images were copied in (deleted here if the guest is not resumed). */
    private final Set<UUID> copiedIn = ConcurrentHashMap.newKeySet();
    private final Map<UUID, IncomingMigration> expected = new ConcurrentHashMap<>();
    private final Map<UUID, IncomingMigration> receiving = new ConcurrentHashMap<>();
    private final Map<UUID, UUID> incomingGuests = new ConcurrentHashMap<>();
    private final Map<UUID, OutgoingMigration> outgoing = new ConcurrentHashMap<>();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final Set<UUID> cancelledEarly = ConcurrentHashMap.newKeySet();
    /** Outgoing jobs that ended here, and whether the guest was handed over (then cancel is too late). */
    private final Map<UUID, Boolean> finished = new ConcurrentHashMap<>();
    /** Post-copies abandoned here, by job: the one answer, given again to a repeated command. */
    private final Map<UUID, CompletableFuture<AbandonReport>> abandoned = new ConcurrentHashMap<>();
    /** How long an abandon command waits for an outgoing migration's thread (below the control plane's command timeout). */
    private static final long ABANDON_WAIT_MS = 20_000;

    Migrations(String hostId, GuestHost guests, EventLoopGroup io, MigrationReporter reporter,
               OwnershipArbiter arbiter, FaultInjector faults, Duration handoffTimeout, WorkerMetrics metrics) {
        this(hostId, guests, io, reporter, arbiter, faults, handoffTimeout, metrics, DataPlaneSecurity.plain());
    }

    Migrations(String hostId, GuestHost guests, EventLoopGroup io, MigrationReporter reporter,
               OwnershipArbiter arbiter, FaultInjector faults, Duration handoffTimeout, WorkerMetrics metrics,
               DataPlaneSecurity security) {
        this.security = security;
        this.hostId = hostId;
        this.guests = guests;
        this.io = io;
        this.reporter = reporter;
        this.arbiter = arbiter;
        this.faults = faults;
        this.handoffTimeout = handoffTimeout;
        this.metrics = metrics;
    }

    private static boolean copy(StorageMode storage) {
        if (storage == null) {
            throw new IllegalArgumentException("the storage mode is missing");
        }
        return storage == StorageMode.COPY;
    }

    void startIncoming(StartIncomingCommand command) {
        UUID jobId = command.jobId();
        if (cancelledEarly.remove(jobId)) {
            throw new IllegalStateException("job " + jobId + " was cancelled before it started");
        }
        if (expected.containsKey(jobId) || receiving.containsKey(jobId)) {
            throw new IllegalStateException("job " + jobId + " is already expected here");
        }
        boolean copy = copy(command.storage());
        MigratingGuest guest = guests.createIncoming(command.guest(),
                copy ? SyntheticGuest.IncomingImages.COPY : SyntheticGuest.IncomingImages.SHARED);
        incomingGuests.put(jobId, command.guest().guestId());
        if (copy) {
            copiedIn.add(jobId);
        }
        Map<String, Long> base = new LinkedHashMap<>();
        command.guest().disks().forEach(d -> base.put(d.diskId().toString(), d.generation()));
        IncomingMigration migration = new IncomingMigration(new IncomingMigration.Spec(jobId, hostId,
                Base64.getDecoder().decode(command.secret()), command.verifyChecksums(), copy, base, handoffTimeout,
                new PageChannels(Math.max(1, command.channels()),
                        command.compression() == null ? CompressionMethod.NONE : command.compression())),
                guest, reporter, arbiter, faults, this::incomingDone);
        expected.put(jobId, migration);
        log.info("expecting migration {} of guest {} ({} storage, images opened inactive)", jobId,
                command.guest().guestId(), copy ? "copy" : "shared");
        faults.reach(FaultInjector.Step.DESTINATION_OPENED, jobId, () -> migration.abandon("fault injection: drop"));
    }

    void startOutgoing(StartOutgoingCommand command) {
        UUID jobId = command.jobId();
        if (cancelledEarly.remove(jobId)) {
            reporter.report(new MigrationReport(jobId, MigrationPhase.CANCELLED, "cancelled before it started", null,
                    null));
            return;
        }
        MigratingGuest guest = guests.migrating(command.guestId());
        if (command.settings() == null) {
            throw new IllegalArgumentException("the migration settings are missing");
        }
        boolean copy = command.settings().copyImages();
        Map<String, Long> base = new LinkedHashMap<>();
        if (command.disks() != null) {
            command.disks().forEach(d -> base.put(d.diskId().toString(), d.generation()));
        }
        OutgoingMigration migration = new OutgoingMigration(new OutgoingMigration.Spec(jobId, hostId,
                command.destinationAddress(), Base64.getDecoder().decode(command.secret()), base, handoffTimeout,
                command.settings(), true), guest, io,
                reporter, arbiter, faults, (id, handedOver) -> outgoingDone(id, command.guestId(), handedOver, copy));
        migration.countInto(metrics.transfers());
        migration.secureWith(security);
        migration.pauseThrough(pauses);
        if (outgoing.putIfAbsent(jobId, migration) != null) {
            throw new IllegalStateException("job " + jobId + " is already running here");
        }
        Thread thread = new Thread(() -> {
            try {
                migration.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        }, "migration-" + jobId);
        thread.setDaemon(true);
        threads.add(thread);
        thread.start();
    }

    /** What this worker process knows of the job (see {@link MigrationKnowledge}). */
    MigrationKnowledge knowledge(UUID jobId) {
        if (outgoing.containsKey(jobId)) {
            return MigrationKnowledge.SENDING;
        }
        Boolean handedOver = finished.get(jobId);
        if (handedOver != null) {
            return handedOver ? MigrationKnowledge.HANDED_OVER : MigrationKnowledge.ENDED;
        }
        if (receiving.containsKey(jobId)) {
            return MigrationKnowledge.RECEIVING;
        }
        if (expected.containsKey(jobId)) {
            return MigrationKnowledge.EXPECTED;
        }
        return MigrationKnowledge.UNKNOWN;
    }

    /** True when the cancel will be honoured; false when the switchover already began. */
    boolean cancel(UUID jobId) {
        OutgoingMigration migration = outgoing.get(jobId);
        if (migration != null) {
            return migration.cancel();
        }
        Boolean handedOver = finished.get(jobId);
        if (handedOver != null) {
            return !handedOver;
        }
        IncomingMigration incoming = expected.remove(jobId);
        if (incoming == null) {
            incoming = receiving.get(jobId);
        }
        if (incoming != null) {
            incoming.abandon("job cancelled or failed");
            return true;
        }
        if (!incomingGuests.containsKey(jobId)) {
            cancelledEarly.add(jobId);   // a start that arrives later ends at once
        }
        return true;
    }

    /**
     * New limits; auto-converge on or off when the command says (null: as it is).
     *
     * @throws IllegalStateException if auto-converge is asked for once pre-copy is over (switchover or
     *     post-copy has begun, or the job was cancelled); nothing of the command is applied then
     */
    void tune(UUID jobId, TuneMigrationCommand command) {
        OutgoingMigration migration = outgoing.get(jobId);
        if (migration == null) {
            throw new UnknownMigrationException(jobId);
        }
        if (Boolean.TRUE.equals(command.autoConverge()) && !migration.enableAutoConverge()) {
            throw new IllegalStateException("migration " + jobId + " cannot turn auto-converge on: it is no longer "
                    + "in pre-copy (switchover or post-copy has begun, or it was cancelled)");
        }
        if (Boolean.FALSE.equals(command.autoConverge())) {
            migration.disableAutoConverge();
        }
        migration.tune(command.maxBandwidth(), command.downtimeLimitMs());
    }

    /** Switches an outgoing pre-copy to post-copy at its next safe point. */
    void startPostcopy(UUID jobId) {
        OutgoingMigration migration = outgoing.get(jobId);
        if (migration == null) {
            throw new UnknownMigrationException(jobId);
        }
        if (!migration.startPostcopy()) {
            throw new IllegalStateException("migration " + jobId + " cannot switch to post-copy: it was not started "
                    + "with the postcopy capability, or its switchover has begun");
        }
    }

    /**
     * Nova's force-complete: the source's guest stops dirtying memory and disks so the pre-copy
     * converges; it runs again on the destination, or here if the job fails or is cancelled.
     *
     * @throws UnknownMigrationException if no outgoing migration of that job runs here
     * @throws IllegalStateException if the job is past pre-copy (switching over, post-copy) or cancelled
     */
    void forceComplete(UUID jobId) {
        OutgoingMigration migration = outgoing.get(jobId);
        if (migration == null) {
            if (finished.containsKey(jobId)) {
                throw new IllegalStateException("migration " + jobId + " has already ended here");
            }
            throw new UnknownMigrationException(jobId);
        }
        if (!migration.forceComplete()) {
            throw new IllegalStateException("migration " + jobId + " cannot be forced to complete: it is no longer in "
                    + "pre-copy (switchover or post-copy has begun, or it was cancelled)");
        }
    }

    /** Retries a paused post-copy's link now. */
    void recover(UUID jobId) {
        OutgoingMigration migration = outgoing.get(jobId);
        if (migration == null) {
            throw new UnknownMigrationException(jobId);
        }
        if (!migration.recover()) {
            throw new IllegalStateException("migration " + jobId + " is not a paused post-copy");
        }
    }

    /**
     * An admin ends a paused post-copy whose other side's worker is gone, keeping the guest on
     * this side: the source takes its disks back at the granted generations and runs the guest
     * again; the destination turns every page that never arrived into a zero page and runs on.
     * Either way the migration ends here, reports nothing more, and the guest is an ordinary one.
     * Idempotent: a repeat (a reply lost on the way) gets the same report for as long as this
     * worker process lives; a failed attempt is forgotten, so a repeat meets the job as it is then.
     *
     * @throws UnknownMigrationException if this worker does not know the job
     * @throws IllegalStateException if the job is not a paused post-copy here (still in pre-copy,
     *                               post-copy active, or ended)
     * @throws TimeoutException if the source's migration thread has not honoured it in time (a
     *                          recovery attempt under way): it still will, and a repeat waits for it
     */
    AbandonReport abandon(UUID jobId, AbandonCommand command) throws InterruptedException, TimeoutException {
        String reason = command.reason() == null || command.reason().isBlank() ? "no reason given" : command.reason();
        Map<String, Long> generations = new LinkedHashMap<>();
        if (command.disks() != null) {
            command.disks().forEach(d -> generations.put(d.diskId().toString(), d.generation()));
        }
        CompletableFuture<AbandonReport> answer = abandoned.computeIfAbsent(jobId,
                id -> startAbandon(id, reason, generations));
        try {
            return answer.get(ABANDON_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException failed) {
            abandoned.remove(jobId, answer);
            if (failed.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw new IllegalStateException(failed.getCause());
        }
    }

    private CompletableFuture<AbandonReport> startAbandon(UUID jobId, String reason, Map<String, Long> generations) {
        OutgoingMigration source = outgoing.get(jobId);
        if (source != null) {
            return source.abandonPostcopy(reason, generations);   // answered by its migration thread
        }
        IncomingMigration destination = receiving.get(jobId);
        if (destination != null) {
            return CompletableFuture.completedFuture(destination.abandonPostcopy(reason, generations));
        }
        if (expected.containsKey(jobId) || finished.containsKey(jobId)) {
            throw new IllegalStateException("migration " + jobId + " is not a paused post-copy here: "
                    + (expected.containsKey(jobId) ? "its stream has not begun" : "it has ended"));
        }
        throw new UnknownMigrationException(jobId);
    }

    @Override
    public IncomingEndpoint expected(UUID jobId) {
        IncomingMigration recovering = receiving.get(jobId);
        if (recovering != null && (recovering.acceptsRecovery() || recovering.acceptsPreempt())) {
            return recovering;   // post-copy recovery (a new connection takes the stream over) or its preempt channel
        }
        IncomingMigration migration = expected.get(jobId);
        return migration == null ? null : new IncomingEndpoint() {
            @Override
            public byte[] secret() {
                return migration.secret();
            }

            @Override
            public StreamSink attach(String remoteAddress, ConnectionControl connection) {
                // one stream per job: the expectation is used up by the first proven connection
                if (!expected.remove(jobId, migration)) {
                    throw new IllegalStateException("job " + jobId + " already has its stream");
                }
                receiving.put(jobId, migration);
                return migration.attach(remoteAddress, connection);
            }
        };
    }

    private void incomingDone(UUID jobId, boolean resumed) {
        expected.remove(jobId);
        IncomingMigration received = receiving.remove(jobId);
        if (received != null) {
            metrics.pageFaults(received.faultLatencies());   // once: only the first end finds it here
        }
        UUID guestId = incomingGuests.remove(jobId);
        boolean copied = copiedIn.remove(jobId);
        if (!resumed && guestId != null) {
            guests.release(guestId, copied);   // a partial copy is nobody's
        }
    }

    /**
     * Once the destination runs the guest, the local copy goes; its images stay if shared, and
     * go if they were copied out (stale now, and a stale image is a trap).
     */
    private void outgoingDone(UUID jobId, UUID guestId, boolean handedOver, boolean copied) {
        finished.put(jobId, handedOver);
        outgoing.remove(jobId);
        if (handedOver) {
            guests.release(guestId, copied);
        }
    }

    /** Worker shutdown: stop every migration, so no thread touches guest memory once it is freed. */
    void shutdown() {
        expected.values().forEach(m -> m.abandon("worker is stopping"));
        receiving.values().forEach(m -> m.abandon("worker is stopping"));
        outgoing.values().forEach(OutgoingMigration::cancel);
        threads.forEach(t -> {
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    static final class UnknownMigrationException extends RuntimeException {
        UnknownMigrationException(UUID jobId) {
            super("migration " + jobId + " is not running on this worker");
        }
    }
}
