package io.ferry.migration.incoming;

import io.ferry.channel.HandoffStep;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.OwnershipGrant;
import io.ferry.channel.OwnershipState;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.FerrySections;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The end of the stream on the destination: what the stream carries besides pages (the RAM block
 * list, the device state, the source's run state and digests), checked at EOF (device state
 * present and loaded, copied images complete and flushed; with verifyChecksums, digests equal the
 * source's). Then a guest without disks is resumed at once; a guest with disks first needs the
 * control plane's activation, asked for off the event loop. Post-copy runs the same checks at RUN.
 *
 * <p>If the control plane does not answer within the hand-off timeout, the source is told to fail
 * back, and this side waits for the records instead of guessing ({@link #resolve}).
 *
 * <p>Stream callbacks come under the job's lock; the activation thread runs without it, alone:
 * from {@link IncomingPhase#ACTIVATING} on only it moves the phase.
 */
final class IncomingCompletion {

    // the destination's lines stay under one logger, where operators (and tests) look for them
    private static final Logger log = LoggerFactory.getLogger(IncomingMigration.class);
    /** How often an activation whose answer was lost looks at the control plane's records again. */
    static final Duration RESOLVE_POLL = Duration.ofSeconds(1);

    private final IncomingJob job;
    private final ImageCopyReceiver imageCopy;
    private boolean blockListSeen;
    private byte[] deviceState;
    private String runState = "running";
    private FerrySections.Digests sourceDigests;

    IncomingCompletion(IncomingJob job, ImageCopyReceiver imageCopy) {
        this.job = job;
        this.imageCopy = imageCopy;
    }

    void ramBlocks(List<RamBlockInfo> announced) {
        List<RamBlock> blocks = job.blocks();
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

    /** Ferry's own FULL sections beside its device state, each be32 length + text. */
    DeviceSectionFormat deviceSectionFormat(String idstr) {
        return idstr.equals(FerrySections.VERIFY) || idstr.equals(FerrySections.RUN_STATE)
                ? DeviceSectionFormat.lengthPrefixed() : null;
    }

    void deviceState(String idstr, ByteBuf payload) {
        if (job.phases().current().runSeen()) {
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

    /** The state the guest runs in here: paused if it was paused on the source. */
    GuestState runState() {
        return keptPaused() ? GuestState.PAUSED : GuestState.RUNNING;
    }

    private boolean keptPaused() {
        return runState.equals("paused");
    }

    /** Pre-copy's EOF: the checks, then the guest resumed, dropped, or its disks' activation asked for. */
    void endOfStream() {
        job.phases().moveTo(IncomingPhase.CHECKING);
        String problem = check();
        if (problem != null) {
            job.fail().accept(problem);
            return;
        }
        if (job.images().isEmpty()) {
            resume("no disks to activate");
            return;
        }
        job.phases().moveTo(IncomingPhase.ACTIVATING);
        Thread activation = new Thread(this::activate, "activation-" + job.jobId());
        activation.setDaemon(true);
        activation.start();
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
    String checkDeviceAndImages() {
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
            job.guest().loadDeviceState(deviceState);
            long flushStart = System.nanoTime();
            imageCopy.flush();
            if (job.spec().copyImages() && !job.images().isEmpty()) {
                log.info("incoming migration {}: copied images flushed to storage in {} ms", job.jobId(),
                        (System.nanoTime() - flushStart) / 1_000_000);
            }
        } catch (RuntimeException e) {
            return "device state or images refused: " + e.getMessage();
        }
        return null;
    }

    private String verifyChecksums() {
        if (job.spec().verifyChecksums()) {
            if (sourceDigests == null) {
                return "verifyChecksums was requested but the source sent no digests";
            }
            GuestChecksums sums = job.guest().checksums();
            List<String> disks = sums.disks().stream().map(GuestChecksums.DiskChecksum::sha256).toList();
            job.reporter().report(new MigrationReport(job.jobId(), MigrationPhase.VERIFIED, "destination digests",
                    new MigrationProgress(0, 0, null, null, null, null, null, new MigrationProgress.Verification(null,
                            sums.memory(), null, sums.deviceState(), null, disks)), null));
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
        MDC.put("jobId", job.jobId().toString());
        try {
            OwnershipArbiter.Answer answer = job.arbiter().step(job.jobId(), HandoffStep.ACTIVATE,
                    job.spec().baseGenerations(), job.spec().handoffTimeout());
            switch (answer.verdict()) {
                case GRANTED -> activated(answer);
                case REFUSED -> job.fail().accept("the control plane refused to activate the disks here: "
                        + answer.detail());
                case UNREACHABLE -> {
                    // Tell the source to fail back now, then wait for the records: ours may have won.
                    job.outcome().refused("could not activate the disks: " + answer.detail()
                            + "; the source decides (re-activation) and this side follows the control plane's records");
                    resolve();
                }
            }
        } catch (InterruptedException e) {
            log.warn("incoming migration {}: worker stopping before the hand-off was decided; the guest is dropped "
                    + "unactivated", job.jobId());
            job.phases().moveTo(IncomingPhase.FAILED);
            job.outcome().ended(false);
        } catch (RuntimeException e) {
            log.error("incoming migration {}: activation failed", job.jobId(), e);
            if (job.phases().is(IncomingPhase.ACTIVATING)) {
                job.fail().accept("activation failed: " + e);
            }
        } finally {
            MDC.remove("jobId");
        }
    }

    private void activated(OwnershipArbiter.Answer answer) {
        job.guest().activateDisks(answer.generations());
        job.faults().reach(FaultInjector.Step.DESTINATION_ACTIVATED, job.jobId(), () -> {
            if (job.main().get() != null) {
                job.main().get().close();
            }
        });
        resume("disks activated at generation " + answer.generations().values());
    }

    private void resume(String why) {
        job.incoming().changeState(runState());
        job.phases().moveTo(IncomingPhase.COMPLETED);
        log.info("incoming migration {} complete: guest {} {} here ({})", job.jobId(), job.guest().id(),
                keptPaused() ? "kept paused, as on the source," : "resumed", why);
        job.outcome().succeeded();
    }

    /** Waits until the records say whether this side's activation won. Never guesses. */
    private void resolve() throws InterruptedException {
        while (true) {
            OwnershipArbiter.Answer now = job.arbiter().read(job.jobId(), job.spec().handoffTimeout());
            if (now.verdict() == OwnershipArbiter.Verdict.GRANTED) {
                if (now.disks().stream().allMatch(this::activeHere)) {
                    log.warn("incoming migration {}: the control plane had granted the activation; running the guest",
                            job.jobId());
                    activated(now);
                    return;
                }
                if (!now.disks().stream().allMatch(this::stillHandedOff)) {
                    job.fail().accept("the source took the disks back: " + now.disks());
                    return;
                }
            } else if (now.verdict() == OwnershipArbiter.Verdict.REFUSED) {
                job.fail().accept("the control plane no longer knows job " + job.jobId() + ": " + now.detail());
                return;
            }
            Thread.sleep(RESOLVE_POLL.toMillis());
        }
    }

    private boolean activeHere(OwnershipGrant.Disk disk) {
        Long base = job.spec().baseGenerations().get(disk.diskId().toString());
        return base != null && disk.state() == OwnershipState.ACTIVE && disk.ownerHostId().equals(job.spec().hostId())
                && disk.generation() == base + 2;
    }

    private boolean stillHandedOff(OwnershipGrant.Disk disk) {
        Long base = job.spec().baseGenerations().get(disk.diskId().toString());
        return base != null && disk.state() == OwnershipState.HANDOFF && disk.generation() == base + 1;
    }
}
