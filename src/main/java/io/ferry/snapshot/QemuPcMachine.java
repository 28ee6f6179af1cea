package io.ferry.snapshot;

import io.ferry.wire.RamBlockInfo;
import java.util.List;
import java.util.stream.Stream;

/**
 * QEMU 7.2's {@code -M pc -nodefaults} (one CPU) as its migration stream shows it: the machine
 * type the {@code pc} alias resolves to, and the RAM blocks in the order and sizes of its
 * {@code ram} block list. Read from QEMU 7.2 itself ({@code -S -nodefaults -display none -M pc
 * -m 32M} and {@code -m 64M}, {@code migrate "exec:cat > FILE"}, {@code ferry inspect FILE}); the
 * firmware blocks do not change with the memory size:
 *
 * <pre>
 *   pc.ram                  the guest's memory (-m)
 *   /rom@etc/acpi/tables    128 KiB   ACPI tables fw_cfg blob (resizable: a destination takes the size announced)
 *   pc.bios                 256 KiB   SeaBIOS
 *   pc.rom                  128 KiB   option ROM space
 *   /rom@etc/table-loader     4 KiB   fw_cfg blob
 *   /rom@etc/acpi/rsdp        4 KiB   fw_cfg blob
 * </pre>
 *
 * With default devices a VGA adds {@code vga.vram} and option ROMs; those are not modelled here.
 */
final class QemuPcMachine {

    /** What {@code -M pc} resolves to in QEMU 7.2: the name its configuration section carries. */
    static final String MACHINE_TYPE = "pc-i440fx-7.2";
    /** The guest's memory. */
    static final String RAM_BLOCK = "pc.ram";
    /** {@code -m} is in MiB: a pc.ram of whole MiB is one QEMU can be started with. */
    static final long RAM_GRANULE = 1L << 20;

    private static final long KIB = 1L << 10;
    private static final List<RamBlockInfo> FIRMWARE_BLOCKS = List.of(
            new RamBlockInfo("/rom@etc/acpi/tables", 128 * KIB),
            new RamBlockInfo("pc.bios", 256 * KIB),
            new RamBlockInfo("pc.rom", 128 * KIB),
            new RamBlockInfo("/rom@etc/table-loader", 4 * KIB),
            new RamBlockInfo("/rom@etc/acpi/rsdp", 4 * KIB));

    private QemuPcMachine() {
    }

    /** The block list for a guest of {@code ramBytes}: pc.ram first, then the firmware blocks. */
    static List<RamBlockInfo> ramBlocks(long ramBytes) {
        if (ramBytes <= 0 || ramBytes % RAM_GRANULE != 0) {
            throw new IllegalArgumentException("a pc machine's memory is a whole number of MiB, not " + ramBytes
                    + " bytes");
        }
        return Stream.concat(Stream.of(new RamBlockInfo(RAM_BLOCK, ramBytes)), FIRMWARE_BLOCKS.stream()).toList();
    }

    /** The firmware blocks, after pc.ram. */
    static List<RamBlockInfo> firmwareBlocks() {
        return FIRMWARE_BLOCKS;
    }
}
