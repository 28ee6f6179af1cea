package io.ferry.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.guest.GuestChecksums;
import io.ferry.guest.SyntheticGuest;
import io.ferry.inspect.InspectCommand;
import io.ferry.inspect.StreamInspector;
import io.ferry.inspect.StreamSummary;
import io.ferry.inspect.StreamSummary.DeviceSection;
import io.ferry.inspect.StreamSummary.Disk;
import io.ferry.inspect.StreamSummary.RamBlock;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code ferry inspect} reads both kinds of saved file, with their vmdesc, and extracts what they hold. */
class SavedFilesInspectTest {

    private static final long MIB = SavedGuests.MIB;

    @TempDir
    Path dir;

    @Test
    void inspectListsASnapshotsBlocksDisksFerrySectionsAndVmDescription() throws Exception {
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(guest, file);
        }

        StreamSummary summary = new StreamInspector().inspect(file, null);

        assertThat(summary.machineType()).isEqualTo("ferry-synthetic");
        assertThat(summary.ramBlocks()).extracting(RamBlock::name, RamBlock::bytes)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("pc.ram", 12 * MIB),
                        org.assertj.core.groups.Tuple.tuple("vga.vram", 4 * MIB));
        for (RamBlock block : summary.ramBlocks()) {
            assertThat(block.pages() + block.zeroPages()).as("every page once").isEqualTo(block.bytes() / 4096);
        }
        assertThat(summary.disks()).extracting(Disk::name, Disk::bytes, Disk::chunks)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("disk-0", MIB, 1L),
                        org.assertj.core.groups.Tuple.tuple("disk-1", 3 * MIB, 3L));   // the last chunk padded
        assertThat(summary.deviceSections()).extracting(DeviceSection::name, DeviceSection::bytes)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("ferry/guest", 68L),
                        org.assertj.core.groups.Tuple.tuple("ferry/device-state", 4096L + 8));
        assertThat(summary.vmDescription().json().get("devices")).extracting(d -> d.get("name").asString())
                .containsExactly("ferry/guest", "block", "ferry/device-state");
    }

    @Test
    void extractingASnapshotGivesTheGuestsBlocksAndImages() throws Exception {
        Path file = dir.resolve("guest.qemu");
        GuestChecksums sums;
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(guest, file);
            sums = guest.checksums();
        }
        Path out = dir.resolve("out");

        new StreamInspector().inspect(file, out);

        assertThat(sha256(out.resolve("pc.ram.ram"), 12 * MIB)).isEqualTo(sums.ramBlocks().get(0).sha256());
        assertThat(sha256(out.resolve("vga.vram.ram"), 4 * MIB)).isEqualTo(sums.ramBlocks().get(1).sha256());
        assertThat(sha256(out.resolve("disk-0.img"), MIB)).isEqualTo(sums.disks().get(0).sha256());
        assertThat(sha256(out.resolve("disk-1.img"), 5 * MIB / 2)).isEqualTo(sums.disks().get(1).sha256());
    }

    @Test
    void inspectListsAQemuPcSaveWithQemusBlocksAndExtractsTheGuestsMemoryAsPcRam() throws Exception {
        Path file = dir.resolve("pc.qemu");
        String memory;
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            QemuPcSave.write(guest, file);
            memory = guest.checksums().memory();   // both blocks, one after the other
        }
        Path out = dir.resolve("out");

        StreamSummary summary = new StreamInspector().inspect(file, out);

        assertThat(summary.machineType()).isEqualTo("pc-i440fx-7.2");
        assertThat(summary.ramBlocks()).extracting(RamBlock::name).containsExactly("pc.ram", "/rom@etc/acpi/tables",
                "pc.bios", "pc.rom", "/rom@etc/table-loader", "/rom@etc/acpi/rsdp");
        assertThat(summary.ramBlocks()).extracting(RamBlock::bytes)
                .containsExactly(16 * MIB, 128L << 10, 256L << 10, 128L << 10, 4096L, 4096L);
        assertThat(summary.ramBlocks().subList(1, 6)).allSatisfy(b -> assertThat(b.pages()).isZero());
        assertThat(summary.deviceSections()).isEmpty();
        assertThat(summary.disks()).isEmpty();
        assertThat(summary.vmDescription().json().get("devices")).isEmpty();
        assertThat(sha256(out.resolve("pc.ram.ram"), 16 * MIB)).isEqualTo(memory);
    }

    @Test
    void theCommandLineReadsBothKindsOfSavedFile() throws Exception {
        Path snapshot = dir.resolve("guest.qemu");
        Path pc = dir.resolve("pc.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(guest, snapshot);
            QemuPcSave.write(guest, pc);
        }

        assertThat(inspect(snapshot)).contains("machine ferry-synthetic").contains("disks       2")
                .contains("3 devices described");
        assertThat(inspect(pc)).contains("machine pc-i440fx-7.2").contains("RAM blocks  6")
                .contains("0 devices described");
    }

    private static String inspect(Path file) {
        StringWriter out = new StringWriter();
        CommandLine command = new CommandLine(new InspectCommand());
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(out, true));
        assertThat(command.execute(file.toString())).as("exit code, output: %s", out).isZero();
        return out.toString();
    }

    private static String sha256(Path file, long length) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (long left = length; left > 0; ) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    throw new IOException(file + " is shorter than " + length);
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
