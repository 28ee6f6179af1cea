package io.ferry.guest.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestState;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** QMP query-status answers as Ferry's guest states, and the command line a QEMU guest starts with. */
class QemuStatusTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @ParameterizedTest(name = "{0}, running={1} -> {2}")
    @CsvSource({
            "running,        true,  RUNNING",
            "paused,         false, PAUSED",
            "prelaunch,      false, PAUSED",
            "postmigrate,    false, PAUSED",
            "finish-migrate, false, PAUSED",
            "io-error,       false, PAUSED",
            "guest-panicked, false, PAUSED",
            "shutdown,       false, PAUSED",
            "debug,          false, PAUSED",
            "inmigrate,      false, INCOMING",
    })
    void everyQmpRunStateIsOneOfFerrysGuestStates(String status, boolean running, GuestState expected) {
        assertThat(QemuStatus.guestState(JSON.readTree(
                "{\"status\": \"" + status + "\", \"singlestep\": false, \"running\": " + running + "}")))
                .isEqualTo(expected);
    }

    @Test
    void aGuestIsAPcMachineWithoutDefaultsDisplayOrNetworkAndAVirtioDiskPerImage() {
        QemuInstallation qemu = new QemuInstallation(Path.of("/usr/bin/qemu-system-x86_64"), "QEMU 7.2", "tcg", "test");
        QemuGuestSpec spec = new QemuGuestSpec("g1", 64L << 20,
                List.of(new DiskSpec("d1", "root", 8L << 20), new DiskSpec("d2", "data", 4096)),
                QemuGuestSpec.ImageFormat.QCOW2);
        Path store = Path.of("/data/store,1");
        assertThat(QemuGuest.commandLine(qemu, spec, "host-a", store, store.resolve("g1.qmp"))).containsExactly(
                "/usr/bin/qemu-system-x86_64", "-name", "guest=ferry:host-a:g1", "-machine", "pc", "-accel", "tcg", "-m", "64M",
                "-nodefaults", "-display", "none", "-qmp", "unix:/data/store,,1/g1.qmp,server=on,wait=off",
                "-drive", "if=none,id=disk0,format=qcow2,file=/data/store,,1/d1.qcow2",
                "-device", "virtio-blk-pci,drive=disk0",
                "-drive", "if=none,id=disk1,format=qcow2,file=/data/store,,1/d2.qcow2",
                "-device", "virtio-blk-pci,drive=disk1");
    }

    @Test
    void memoryIsWholeMebibytes() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new QemuGuestSpec("g1", (64L << 20) + 4096, List.of(),
                QemuGuestSpec.ImageFormat.QCOW2)).hasMessageContaining("whole MiB");
    }
}
