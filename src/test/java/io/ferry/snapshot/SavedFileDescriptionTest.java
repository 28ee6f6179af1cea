package io.ferry.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.ferry.guest.SyntheticGuest;
import io.ferry.inspect.StreamInspector;
import io.ferry.inspect.StreamSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vmdesc of both kinds of saved file, checked the way QEMU's analyze-migration.py uses it
 * ({@link AnalyzerWalk}) and as {@code ferry inspect} reads it.
 */
class SavedFileDescriptionTest {

    @TempDir
    Path dir;

    @Test
    void aGuestSnapshotDescribesEverySectionButRamAndWalksToEofAsTheAnalyzerReadsIt() throws Exception {
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(guest, file);
        }

        AnalyzerWalk.Walk walk = AnalyzerWalk.walk(file);

        assertThat(walk.sections()).containsExactly("START ram", "FULL ferry/guest", "END ram", "START block",
                "FULL ferry/device-state");
        assertThat(walk.describedDevices()).containsExactly("ferry/guest#0", "block#0", "ferry/device-state#0");
        StreamSummary summary = new StreamInspector().inspect(file, null);
        assertThat(walk.vmDescriptionOffset()).isEqualTo(summary.eofOffset() + 1);
        assertThat(summary.vmDescription().offset() + 5 + summary.vmDescription().bytes()).isEqualTo(Files.size(file));
    }

    @Test
    void theDescribedSizesAreThePayloadsInspectMeasures() throws Exception {
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(guest, file);
        }

        StreamSummary summary = new StreamInspector().inspect(file, null);

        var devices = summary.vmDescription().json().get("devices");
        assertThat(devices.get(0).get("fields").get(0).get("size").asLong())
                .isEqualTo(summary.deviceSections().get(0).bytes());   // ferry/guest: measured with its length
        assertThat(devices.get(2).get("fields").get(0).get("size").asLong())
                .isEqualTo(Integer.BYTES + summary.deviceSections().get(1).bytes());   // the decoder strips the length
        var block = summary.iterativeSections().stream().filter(s -> s.name().equals("block")).findFirst().orElseThrow();
        int header = 1 + 4 + 1 + "block".length() + 4 + 4;
        int footer = 1 + 4;
        assertThat(devices.get(1).get("fields").get(0).get("size").asLong()).isEqualTo(block.bytes() - header - footer);
    }

    @Test
    void aQemuPcSaveHasAnEmptyDescriptionAndOnlyRam() throws Exception {
        Path file = dir.resolve("pc.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            QemuPcSave.write(guest, file);
        }

        AnalyzerWalk.Walk walk = AnalyzerWalk.walk(file);

        assertThat(walk.sections()).containsExactly("START ram", "END ram");
        assertThat(walk.describedDevices()).isEmpty();
    }

    /** The walk itself, on a file QEMU 7.2 wrote: thirty described devices, with subsections. */
    @Test
    void theWalkReadsQemusOwnPcStream() throws Exception {
        Path file = Path.of("/work/shared/testdata/qemu/pc-64M-mostlyzero.qemu");
        for (String candidate : new String[] {System.getenv("FERRY_QEMU_TESTDATA"), "../shared/testdata/qemu"}) {
            if (candidate != null && Files.isReadable(Path.of(candidate, "pc-64M-mostlyzero.qemu"))) {
                file = Path.of(candidate, "pc-64M-mostlyzero.qemu");
            }
        }
        assumeThat(Files.isReadable(file)).as("QEMU test stream %s present", file).isTrue();

        AnalyzerWalk.Walk walk = AnalyzerWalk.walk(file);

        assertThat(walk.describedDevices()).hasSize(30);
        assertThat(walk.sections()).startsWith("START ram").contains("FULL globalstate");
        assertThat(walk.vmDescriptionOffset()).isEqualTo(new StreamInspector().inspect(file, null).eofOffset() + 1);
    }
}
