package io.ferry.migration.outgoing;

import io.ferry.channel.HandoffStep;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.OwnershipState;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PhaseMachine;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disks' hand-off on the source, through the control plane's compare-and-set on ownership:
 * the generations checked at the start, the images inactivated and the HANDOFF step recorded in
 * the pause, and the way back when the hand-off does not complete (REACTIVATE, which the
 * destination's activation may already have beaten). A guest without disks has no hand-off.
 *
 * <p>Used by the migration thread only.
 */
final class Handoff {

    private static final Logger log = LoggerFactory.getLogger(Handoff.class);
    private static final Duration REACTIVATE_RETRY = Duration.ofSeconds(10);

    /** What the control plane's records say of a post-copy the destination no longer knows. */
    enum Settled {
        /** The job completed: the destination finished, its SHUT was lost. */
        HANDED_OVER,
        /** The destination never activated: the disks came back here, and the guest. */
        FAILED_BACK,
        /** The records cannot tell (its worker restarted, or no disks to tell by): the job stays paused. */
        UNKNOWN
    }

    private final OutgoingMigration.Spec spec;
    private final SyntheticGuest guest;
    private final MigratingGuest migrating;
    private final List<DiskChunks> disks;
    private final OwnershipArbiter arbiter;
    private final FaultInjector faults;
    private final PhaseMachine<OutgoingPhase> phases;
    private final PauseBudget pause;
    private final Channels channels;
    private final MigrationReporter reporter;
    private final Supplier<MigrationProgress> progress;

    Handoff(OutgoingMigration.Spec spec, MigratingGuest migrating, List<DiskChunks> disks, OwnershipArbiter arbiter,
            FaultInjector faults, PhaseMachine<OutgoingPhase> phases, PauseBudget pause, Channels channels,
            MigrationReporter reporter, Supplier<MigrationProgress> progress) {
        this.spec = spec;
        this.migrating = migrating;
        this.guest = migrating.guest();
        this.disks = disks;
        this.arbiter = arbiter;
        this.faults = faults;
        this.phases = phases;
        this.pause = pause;
        this.channels = channels;
        this.reporter = reporter;
        this.progress = progress;
    }

    /** The disks must be here, active, at the generations the control plane started the job with. */
    void checkGenerations() {
        for (DiskChunks disk : disks) {
            Long base = spec.baseGenerations().get(disk.device());
            if (base == null || disk.image().activeGeneration() != base) {
                throw new MigrationFailure("disk " + disk.device() + " is active here at generation "
                        + disk.image().activeGeneration() + ", but the control plane started the job at " + base);
            }
        }
    }

    /**
     * One control-plane round trip, timed, for the switchover rule: the hand-off makes two while
     * the guest is paused (this side's HANDOFF, the destination's activation). Only for a guest
     * with disks; an unreachable control plane leaves the estimate at zero (the pause will say).
     */
    void measureControlPlane() throws InterruptedException {
        if (disks.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        if (arbiter.read(spec.jobId(), Duration.ofSeconds(5)).verdict() != OwnershipArbiter.Verdict.UNREACHABLE) {
            pause.controlPlaneRoundTrip(System.nanoTime() - start);
        }
    }

    /**
     * QEMU's rule: images are flushed and inactivated before the end of the stream. Then the
     * control plane records the hand-off; without that record the destination could never
     * activate, so there is no point sending the rest.
     */
    void handOff() throws InterruptedException {
        try {
            guest.inactivateDisks();
        } catch (IOException e) {
            phases.moveTo(OutgoingPhase.HANDOFF);   // partly fenced: only the control plane may make them writable again
            throw new MigrationFailure("flushing the disks before the hand-off failed: " + e.getMessage());
        }
        phases.moveTo(OutgoingPhase.HANDOFF);
        faults.reach(FaultInjector.Step.SOURCE_INACTIVATED, spec.jobId(), channels.main()::close);
        OwnershipArbiter.Answer answer = arbiter.step(spec.jobId(), HandoffStep.HANDOFF, spec.baseGenerations(),
                spec.handoffTimeout());
        if (answer.verdict() != OwnershipArbiter.Verdict.GRANTED) {
            throw new MigrationFailure("the control plane did not record the hand-off (" + answer.verdict()
                    .name().toLowerCase(Locale.ROOT) + ": " + answer.detail() + ")");
        }
        log.info("disks handed off: {}", answer.disks());
        faults.reach(FaultInjector.Step.HANDOFF_RECORDED, spec.jobId(), channels.main()::close);
    }

    /**
     * After the images were inactivated, the guest may run here again only if the control plane
     * re-activates them here. Closes the stream first (the destination must not get the rest),
     * then asks until it gets an answer, and reports the outcome. Returns true if the destination's
     * activation had won: the guest is handed over. {@code restore} lets the guest run here as before.
     */
    boolean failBack(String reason, Runnable restore) {
        channels.close();
        log.warn("hand-off did not complete ({}); re-activating the disks here through the control plane", reason);
        try {
            while (true) {
                OwnershipArbiter.Answer answer = arbiter.step(spec.jobId(), HandoffStep.REACTIVATE,
                        spec.baseGenerations(), REACTIVATE_RETRY);
                switch (answer.verdict()) {
                    case GRANTED -> {
                        guest.activateDisks(answer.generations());
                        restore.run();
                        String why = reason + "; the source re-activated its disks at generation "
                                + answer.generations().values() + " and keeps the guest";
                        reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, why, progress.get(),
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
                                    progress.get(), null));
                            log.info("migration completed: {}", why);
                            return true;
                        }
                        String why = reason + "; the control plane refused to re-activate the disks here ("
                                + answer.detail() + "): the guest stays paused and fenced";
                        reporter.report(new MigrationReport(spec.jobId(), MigrationPhase.FAILED, why, progress.get(),
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
                    progress.get(), migrating.report()));
            return false;
        }
    }

    /**
     * The destination answered a post-copy recovery, but no longer knows the job. The control
     * plane's records say why: the job completed (the destination finished; its SHUT was lost),
     * or the disks are still handed off at the start generation + 1 (the destination never
     * activated them, so it never ran the guest): then the compare-and-set re-activation brings the
     * guest back here, and cannot win against a late activation.
     */
    Settled settleLostPostcopy(String reason, Runnable restore) throws InterruptedException {
        OwnershipArbiter.Answer now = arbiter.read(spec.jobId(), REACTIVATE_RETRY);
        if (now.verdict() != OwnershipArbiter.Verdict.GRANTED) {
            return Settled.UNKNOWN;
        }
        if ("completed".equals(now.jobStatus())) {
            log.info("post-copy: the destination had finished; the job is completed");
            return Settled.HANDED_OVER;
        }
        boolean neverActivated = !disks.isEmpty() && !now.disks().isEmpty() && now.disks().stream().allMatch(d ->
                d.state() == OwnershipState.HANDOFF && d.ownerHostId().equals(spec.hostId())
                        && Long.valueOf(d.generation() - 1).equals(spec.baseGenerations().get(d.diskId().toString())));
        if (neverActivated) {
            return failBack("the destination lost the post-copy before running the guest (" + reason + ")", restore)
                    ? Settled.HANDED_OVER : Settled.FAILED_BACK;
        }
        return Settled.UNKNOWN;
    }
}
