package io.ferry.snapshot;

import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.Workload;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.VmDescription;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Saves a paused synthetic guest's memory as a stream QEMU 7.2 loads into
 * {@code qemu-system-x86_64 -M pc -m <MiB>M -nodefaults -incoming "exec:cat FILE"}:
 *
 * <pre>
 *   header, configuration "pc-i440fx-7.2"
 *   START 1 "ram" 0 4   QEMU's block list ({@link QemuPcMachine}) | EOS | footer
 *   END   1             pc.ram: the guest's blocks one after another, PAGE or ZERO per page;
 *                       each firmware block: a ZERO record per page | EOS | footer
 *   EOF
 *   VMDESCRIPTION       {"page_size":4096,"devices":[]}   (QEMU never describes ram)
 * </pre>
 *
 * <p>What QEMU 7.2 accepts, as tried: the block list with only pc.ram, the full list with no
 * pages for the firmware blocks, and the full list with ZERO pages for them all load; in each
 * case the firmware blocks read zero afterwards, because an incoming QEMU takes ROM contents from
 * the stream rather than loading them. So the full list with ZERO pages is written: QEMU's names,
 * sizes and order, every page sent once, and no claim about firmware the guest never had. The
 * loaded VM therefore holds the guest's memory but no BIOS: it can be inspected, not booted.
 *
 * <p>No device sections (QEMU keeps its devices' reset state), no Ferry sections (QEMU 7.2
 * refuses unknown sections), no disks (QEMU would need drives of the same names and block
 * migration) and no device state: this is the guest's memory only.
 */
public final class QemuPcSave {

    static final int RAM_SECTION_ID = 1;

    private QemuPcSave() {
    }

    /**
     * Writes {@code guest}'s memory to {@code file} as pc.ram; QEMU must then be started with
     * {@code -m} equal to {@link #ramMiB}.
     *
     * @return the file's size
     * @throws IllegalStateException    unless the guest is PAUSED
     * @throws IllegalArgumentException if the guest's memory is not a whole number of MiB
     */
    public static long write(SyntheticGuest guest, Path file) throws IOException {
        if (guest.state() != GuestState.PAUSED) {
            throw new IllegalStateException("guest " + guest.id() + " is " + guest.state().apiName()
                    + "; only a paused guest is saved");
        }
        long ramBytes = guest.memory().totalBytes();
        List<RamBlockInfo> blocks = QemuPcMachine.ramBlocks(ramBytes);
        try (Workload.Hold still = guest.holdWorkload(); SaveFile out = SaveFile.create(file)) {
            StreamEncoder.header(out.out(), QemuPcMachine.MACHINE_TYPE);
            RamSectionWriter ram = new RamSectionWriter(out, RAM_SECTION_ID);
            ram.start(blocks);
            ram.beginPages();
            long offset = 0;
            for (RamBlock block : guest.memory().blocks()) {
                ram.pages(QemuPcMachine.RAM_BLOCK, offset, block);
                offset += block.sizeBytes();
            }
            for (RamBlockInfo firmware : QemuPcMachine.firmwareBlocks()) {
                ram.zeroPages(firmware.idstr(), firmware.usedLength());
            }
            ram.endPages();
            StreamEncoder.eof(out.out());
            new VmDescription().write(out.out());
            long bytes = out.position();
            out.commit();
            return bytes;
        }
    }

    /** The {@code -m} (in MiB) QEMU must be started with to load what {@link #write} writes for this guest. */
    public static long ramMiB(SyntheticGuest guest) {
        return guest.memory().totalBytes() / QemuPcMachine.RAM_GRANULE;
    }
}
