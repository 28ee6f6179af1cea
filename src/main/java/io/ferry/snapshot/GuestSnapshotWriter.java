package io.ferry.snapshot;

import io.ferry.guest.DiskImage;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.Workload;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.VmDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Saves a paused synthetic guest to a file in QEMU's stream format (version 3), readable by
 * {@link GuestSnapshotReader}, {@code ferry inspect} and QEMU's {@code analyze-migration.py}:
 *
 * <pre>
 *   header, configuration "ferry-synthetic"
 *   START 1 "ram" 0 4        block list (the guest's blocks, in order) | EOS | footer
 *   FULL  2 "ferry/guest" 0 1   device-state size, disks (see {@link GuestLayoutSection})
 *   END   1                  every page of every block, PAGE or ZERO | EOS | footer
 *   START 3 "block" 0 1      every chunk of every disk (see {@link DiskSectionWriter}); only with disks
 *   FULL  4 "ferry/device-state" 0 1   be32 n | device state
 *   EOF
 *   VMDESCRIPTION            ferry/guest, block, ferry/device-state, each one buffer ({@link VmDescription})
 * </pre>
 *
 * The layout section comes after the ram START and before any page, so a reader knows the whole
 * guest before its first byte of data. Disks travel under their disk id.
 */
public final class GuestSnapshotWriter {

    static final int RAM_SECTION_ID = 1;
    static final int LAYOUT_SECTION_ID = 2;
    static final int BLOCK_SECTION_ID = 3;
    static final int DEVICE_SECTION_ID = 4;

    private GuestSnapshotWriter() {
    }

    /**
     * Writes {@code guest} to {@code file}, which appears only once complete. The workload is held
     * still for the whole save, so a resume meanwhile cannot tear it.
     *
     * @return the file's size
     * @throws IllegalStateException unless the guest is PAUSED
     * @throws java.nio.file.FileAlreadyExistsException if the file exists
     */
    public static long write(SyntheticGuest guest, Path file) throws IOException {
        if (guest.state() != GuestState.PAUSED) {
            throw new IllegalStateException("guest " + guest.id() + " is " + guest.state().apiName()
                    + "; only a paused guest is saved");
        }
        GuestSpec spec = guest.spec();
        VmDescription description = new VmDescription();
        try (Workload.Hold still = guest.holdWorkload(); SaveFile out = SaveFile.create(file)) {
            StreamEncoder.header(out.out(), StreamFormat.MACHINE_TYPE);
            RamSectionWriter ram = new RamSectionWriter(out, RAM_SECTION_ID);
            ram.start(guest.memory().blocks().stream().map(b -> new RamBlockInfo(b.name(), b.sizeBytes())).toList());

            int layoutBytes = GuestLayoutSection.write(out.out(), LAYOUT_SECTION_ID,
                    new GuestLayoutSection.Layout(spec.deviceStateBytes(), spec.disks()));
            description.describe(GuestLayoutSection.NAME, 0, GuestLayoutSection.VERSION, layoutBytes);

            ram.beginPages();
            for (RamBlock block : guest.memory().blocks()) {
                ram.pages(block.name(), 0, block);
            }
            ram.endPages();

            if (!spec.disks().isEmpty()) {
                Map<String, DiskImage> images = new LinkedHashMap<>();
                for (DiskSpec disk : spec.disks()) {
                    images.put(disk.diskId(), guest.disk(disk.diskId()));
                }
                long blockBytes = new DiskSectionWriter(out, BLOCK_SECTION_ID).write(images);
                description.describe(StreamFormat.BLOCK_SECTION, 0, StreamFormat.BLOCK_SECTION_VERSION, blockBytes);
            }

            byte[] deviceState = guest.deviceState();
            StreamEncoder.deviceState(out.out(), DEVICE_SECTION_ID, deviceState);
            description.describe(StreamFormat.DEVICE_STATE_SECTION, 0, StreamFormat.DEVICE_STATE_SECTION_VERSION,
                    Integer.BYTES + deviceState.length);

            StreamEncoder.eof(out.out());
            description.write(out.out());
            long bytes = out.position();
            out.commit();
            return bytes;
        }
    }
}
