package io.ferry.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.wire.RamBlockInfo;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QemuPcMachineTest {

    @TempDir
    Path dir;

    /** As QEMU 7.2 lists them for {@code -M pc -nodefaults} at -m 32M and -m 64M alike. */
    @Test
    void listsPcRamThenTheFirmwareBlocksInQemusOrderAndSizes() {
        assertThat(QemuPcMachine.ramBlocks(64L << 20)).containsExactly(
                new RamBlockInfo("pc.ram", 64L << 20),
                new RamBlockInfo("/rom@etc/acpi/tables", 128L << 10),
                new RamBlockInfo("pc.bios", 256L << 10),
                new RamBlockInfo("pc.rom", 128L << 10),
                new RamBlockInfo("/rom@etc/table-loader", 4096),
                new RamBlockInfo("/rom@etc/acpi/rsdp", 4096));
        assertThat(QemuPcMachine.MACHINE_TYPE).isEqualTo("pc-i440fx-7.2");
    }

    @Test
    void refusesMemoryThatIsNoWholeNumberOfMiB() {
        assertThatThrownBy(() -> QemuPcMachine.ramBlocks((16L << 20) + 4096))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole number of MiB");
    }

    @Test
    void aGuestOfNoWholeMiBIsNotSavedForQemuAndNoFileIsLeft() throws Exception {
        GuestSpec spec = new GuestSpec("odd", List.of(new RamBlockSpec("pc.ram", (16L << 20) + 4096)), List.of(), 8,
                WorkloadSpec.idle());
        try (SyntheticGuest guest = SyntheticGuest.create(spec, dir.resolve("ds"))) {
            guest.pause();
            assertThatThrownBy(() -> QemuPcSave.write(guest, dir.resolve("pc.qemu")))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(dir.resolve("pc.qemu")).doesNotExist();
        assertThat(dir.resolve("pc.qemu.partial")).doesNotExist();
    }
}
