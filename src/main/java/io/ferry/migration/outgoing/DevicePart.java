package io.ferry.migration.outgoing;

import io.ferry.channel.MigrationProgress;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestState;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FerrySections;
import io.ferry.migration.TransferMeter;
import io.ferry.wire.StreamEncoder;
import java.util.List;

/**
 * What goes once, with the guest paused, after the live parts (QEMU's non-iterable device
 * sections): the checksums of everything sent, the run state the guest is to resume in, and the
 * device state. For post-copy, the same state before RUN, kept to be sent again after a recovery.
 * Not a {@link StreamPart}: nothing here is sent in rounds.
 *
 * <p>Written by the migration thread only.
 */
final class DevicePart {

    private static final int DEVICE_SECTION_ID = 2;
    private static final int VERIFY_SECTION_ID = 3;
    private static final int RUN_STATE_SECTION_ID = 4;

    private final SyntheticGuest guest;
    private MigrationProgress.Verification verification;
    /** What the switch to post-copy sent with RUN, sent again after a recovery; null before the switch. */
    private byte[] switchedDeviceState;
    private String switchedRunState;

    DevicePart(SyntheticGuest guest) {
        this.guest = guest;
    }

    /** Ferry's verify section: digests of memory, device state and disks, for the destination to compare. */
    void verify(StreamWriter out) throws InterruptedException {
        GuestChecksums sums = guest.checksums();
        List<String> diskDigests = sums.disks().stream().map(GuestChecksums.DiskChecksum::sha256).toList();
        verification = new MigrationProgress.Verification(sums.memory(), null, sums.deviceState(), null,
                diskDigests, null);
        out.ensureRoom(512 + 65 * diskDigests.size());
        FerrySections.verify(out.batch(), VERIFY_SECTION_ID,
                new FerrySections.Digests(sums.memory(), sums.deviceState(), diskDigests));
    }

    /** The run state and the device state; leaves room in the batch for EOF. */
    void completePrecopy(StreamWriter out, GuestState before) throws InterruptedException {
        byte[] device = guest.deviceState();
        out.ensureRoom(device.length + 512);
        FerrySections.runState(out.batch(), RUN_STATE_SECTION_ID, runState(before));
        StreamEncoder.deviceState(out.batch(), DEVICE_SECTION_ID, device);
        out.payload(TransferMeter.Kind.DEVICE_STATE, device.length);
    }

    /** The switch to post-copy: LISTEN, then {@link #writeRun}. From RUN on, the destination may run the guest. */
    void listenAndRun(StreamWriter out, GuestState before) throws InterruptedException {
        switchedDeviceState = guest.deviceState();
        switchedRunState = runState(before);
        out.ensureRoom(switchedDeviceState.length + 512);
        StreamEncoder.postcopyListen(out.batch());
        writeRun(out);
    }

    /** After a recovery: the first RUN may have been lost with the old link; a destination already running ignores it. */
    void runAgain(StreamWriter out) throws InterruptedException {
        out.ensureRoom(switchedDeviceState.length + 512);
        writeRun(out);
    }

    /** The switch to post-copy has written RUN (or is writing it). */
    boolean switchedToPostcopy() {
        return switchedRunState != null;
    }

    MigrationProgress.Verification verification() {
        return verification;
    }

    /** Run state, device state and RUN: what makes the destination run the guest. */
    private void writeRun(StreamWriter out) {
        FerrySections.runState(out.batch(), RUN_STATE_SECTION_ID, switchedRunState);
        StreamEncoder.deviceState(out.batch(), DEVICE_SECTION_ID, switchedDeviceState);
        out.payload(TransferMeter.Kind.DEVICE_STATE, switchedDeviceState.length);
        StreamEncoder.postcopyRun(out.batch());
    }

    private static String runState(GuestState before) {
        return before == GuestState.PAUSED ? "paused" : "running";
    }
}
