package io.ferry.migration.outgoing;

import io.ferry.channel.AbandonReport;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.PhaseMachine;
import io.ferry.migration.transport.OutgoingConnection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's postcopy-paused on the source: the link broke while both hosts hold parts of the only
 * copy. The guest stays paused here with every page the destination may lack; nothing is dropped.
 * The link is retried with back-off (and at once on a recover request) until it is back, or the
 * control plane's records settle the job, or an admin abandons it and keeps the guest here.
 *
 * <p>The migration thread waits in {@link #await}; the operator's requests come from other
 * threads. This object's monitor guards the requests and every move out of
 * {@link OutgoingPhase#POSTCOPY_PAUSED}, so a request is taken exactly when the phase allows it.
 */
final class PostcopyPause {

    private static final Logger log = LoggerFactory.getLogger(PostcopyPause.class);
    /** First retry after this, doubling up to {@link #BACKOFF_MAX_MS}. */
    private static final long BACKOFF_FIRST_MS = 500;
    private static final long BACKOFF_MAX_MS = 10_000;

    /** How a paused post-copy ended its pause. */
    enum Outcome {
        /** The link is back; post-copy goes on. */
        RECOVERED,
        /** The destination had finished (its answer was lost with the link): the guest is there. */
        HANDED_OVER,
        /** The destination never activated and no longer knows the job: the disks came back here, and the guest. */
        FAILED_BACK,
        /** An admin ended the migration and kept the guest here ({@link #abandon}): it runs here again. */
        ABANDONED
    }

    /**
     * An admin's decision to end a paused post-copy and keep the guest here: the generations the
     * control plane granted this host's images, and the answer once the migration thread acted.
     */
    private record Abandonment(String reason, Map<String, Long> generations, CompletableFuture<AbandonReport> done) {
    }

    private final OutgoingMigration.Spec spec;
    private final MigratingGuest migrating;
    private final SyntheticGuest guest;
    private final List<DiskChunks> disks;
    private final PhaseMachine<OutgoingPhase> phases;
    private final Channels channels;
    private final PostcopySource postcopy;
    private final Handoff handoff;
    private final MigrationReporter reporter;
    private final Supplier<MigrationProgress> progress;
    /** Guarded by this: an operator's (or control plane's) request to retry the link now. */
    private boolean recoverRequested;
    /** Guarded by this: set once by {@link #abandon}; the paused migration thread honours it. */
    private Abandonment abandonment;

    PostcopyPause(OutgoingMigration.Spec spec, MigratingGuest migrating, List<DiskChunks> disks,
                  PhaseMachine<OutgoingPhase> phases, Channels channels, PostcopySource postcopy, Handoff handoff,
                  MigrationReporter reporter, Supplier<MigrationProgress> progress) {
        this.spec = spec;
        this.migrating = migrating;
        this.guest = migrating.guest();
        this.disks = disks;
        this.phases = phases;
        this.channels = channels;
        this.postcopy = postcopy;
        this.handoff = handoff;
        this.reporter = reporter;
        this.progress = progress;
    }

    /** See {@link OutgoingMigration#recover()}. */
    synchronized boolean requestRecover() {
        // the destination may report the broken link before this side notices it (a read times
        // out later than the peer's close): a request meeting an active post-copy is kept, and
        // the pause that follows tries at once
        if (!phases.is(OutgoingPhase.POSTCOPY_PAUSED) && !phases.is(OutgoingPhase.POSTCOPY_ACTIVE)) {
            return false;
        }
        recoverRequested = true;
        notifyAll();
        return true;
    }

    /** See {@link OutgoingMigration#abandonPostcopy}. */
    synchronized CompletableFuture<AbandonReport> abandon(String reason, Map<String, Long> generations) {
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

    /**
     * Pauses post-copy after the link broke ({@code reason}) until the pause ends one way or the
     * other. {@code restore} lets the guest run here as before the migration.
     */
    Outcome await(String reason, Runnable restore) throws InterruptedException {
        long pausedAt = System.nanoTime();
        channels.close();
        phases.moveTo(OutgoingPhase.POSTCOPY_PAUSED);
        String why = "post-copy link to " + spec.destinationAddress() + " broken (" + reason + "): the guest runs on "
                + "the destination and waits for the pages only this host has; " + (spec.autoRecover()
                ? "retrying with back-off" : "waiting for a recover request");
        reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_PAUSED, why, progress.get(), null));
        log.warn("migration {}", why);
        long backoff = BACKOFF_FIRST_MS;
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
                    return keepGuestHere(restore);
                }
            }
            try {
                long resent = postcopy.reconnect();
                synchronized (this) {
                    if (abandonment != null) {
                        // decided while this attempt ran: the admin's word stands (that worker was declared gone)
                        channels.close();
                        return keepGuestHere(restore);
                    }
                    phases.moveTo(OutgoingPhase.POSTCOPY_ACTIVE);
                }
                postcopy.recovered();
                String back = "post-copy recovered after " + (System.nanoTime() - pausedAt) / 1_000_000
                        + " ms: the destination reported its pages, " + resent + " are sent again";
                reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.POSTCOPY_ACTIVE, back, progress.get(),
                        null));
                log.info("migration {}", back);
                return Outcome.RECOVERED;
            } catch (MigrationFailure failed) {
                channels.close();
                if (failed instanceof OutgoingConnection.Refused) {
                    Handoff.Settled settled = handoff.settleLostPostcopy(reason, restore);
                    if (settled != Handoff.Settled.UNKNOWN) {
                        boolean there = settled == Handoff.Settled.HANDED_OVER;
                        synchronized (this) {
                            phases.moveTo(there ? OutgoingPhase.COMPLETED : OutgoingPhase.FAILED);
                        }
                        return there ? Outcome.HANDED_OVER : Outcome.FAILED_BACK;
                    }
                }
                log.warn("post-copy recovery attempt failed, next in {} ms: {}", backoff, failed.getMessage());
                backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
            }
        }
    }

    /** At the end of the run: an abandonment the migration ended before honouring learns why. */
    synchronized void answerAbandonment() {
        if (abandonment != null && !abandonment.done().isDone()) {
            abandonment.done().completeExceptionally(new IllegalStateException("migration " + spec.jobId()
                    + " ended otherwise before the abandonment was honoured"));
        }
    }

    /**
     * Honours {@link #abandon}, on the migration thread, holding this: no recovery attempt
     * follows. The guest goes on from its state at the switch to post-copy (this host has every
     * page as of then); what it wrote on the destination since is lost — the admin's decision.
     */
    private Outcome keepGuestHere(Runnable restore) {
        phases.moveTo(OutgoingPhase.FAILED);
        channels.close();
        try {
            guest.activateDisks(abandonment.generations());
            restore.run();
            abandonment.done().complete(new AbandonReport(spec.jobId(), AbandonReport.SOURCE, 0, migrating.report()));
            log.warn("post-copy abandoned, the guest kept here ({}): disks active at generation {}, guest {}; its "
                    + "writes on the destination since the switch are lost", abandonment.reason(),
                    abandonment.generations().values(), guest.state().apiName());
        } catch (RuntimeException e) {
            abandonment.done().completeExceptionally(e);
            log.error("post-copy abandoned, but the guest could not be taken back here: the guest stays paused", e);
        }
        return Outcome.ABANDONED;
    }
}
