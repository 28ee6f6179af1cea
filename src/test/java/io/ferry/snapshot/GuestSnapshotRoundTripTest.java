package io.ferry.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.guest.DiskImage;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestSnapshotRoundTripTest {

    @TempDir
    Path dir;

    @Test
    void aRestoredGuestHasTheSavedMemoryDisksAndDeviceStateByteForByte() throws Exception {
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest saved = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestChecksums before = saved.checksums();

            long bytes = GuestSnapshotWriter.write(saved, file);

            assertThat(Files.size(file)).isEqualTo(bytes);
            try (SyntheticGuest restored = GuestSnapshotReader.restore(file, "copy", dir.resolve("b"),
                    WorkloadSpec.idle())) {
                assertThat(restored.checksums()).isEqualTo(before);
                assertThat(restored.deviceState()).isEqualTo(saved.deviceState());
                assertThat(restored.state()).isEqualTo(GuestState.PAUSED);
                assertThat(restored.id()).isEqualTo("copy");
                assertThat(restored.spec().ramBlocks()).isEqualTo(saved.spec().ramBlocks());
                assertThat(restored.spec().disks()).isEqualTo(saved.spec().disks());
                assertThat(restored.disks()).extracting(DiskImage::activeGeneration).containsOnly(1L);
                assertThat(Files.size(dir.resolve("b").resolve("disk-1.img"))).isEqualTo(5 * SavedGuests.MIB / 2);
            }
        }
    }

    /** A control plane's restore: new disk ids, in the datastore that still holds the saved guest's images. */
    @Test
    void aGuestRestoredUnderNewDiskIdsSitsBesideTheSavedOneWithTheSameBytes() throws Exception {
        Path file = dir.resolve("guest.qemu");
        Path datastore = dir.resolve("shared");
        try (SyntheticGuest saved = SavedGuests.paused(SavedGuests.spec("src"), datastore)) {
            GuestChecksums before = saved.checksums();
            GuestSnapshotWriter.write(saved, file);
            java.util.Map<String, Long> generations = new java.util.HashMap<>();
            saved.spec().disks().forEach(d -> generations.put("new-" + d.diskId(), 1L));

            try (SyntheticGuest restored = GuestSnapshotReader.restore(file, "copy", datastore, WorkloadSpec.idle(),
                    generations, id -> "new-" + id)) {
                assertThat(restored.spec().disks()).extracting(io.ferry.guest.DiskSpec::diskId)
                        .containsExactlyElementsOf(saved.spec().disks().stream().map(d -> "new-" + d.diskId()).toList());
                assertThat(restored.checksums().memory()).isEqualTo(before.memory());
                assertThat(restored.checksums().deviceState()).isEqualTo(before.deviceState());
                assertThat(restored.checksums().disks()).extracting(GuestChecksums.DiskChecksum::sha256)
                        .containsExactlyElementsOf(before.disks().stream().map(GuestChecksums.DiskChecksum::sha256)
                                .toList());
                assertThat(saved.checksums()).as("the saved guest's images untouched").isEqualTo(before);
            }
        }
    }

    @Test
    void theSavedGuestStaysPausedAndUnchanged() throws Exception {
        try (SyntheticGuest saved = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestChecksums before = saved.checksums();

            GuestSnapshotWriter.write(saved, dir.resolve("guest.qemu"));

            assertThat(saved.state()).isEqualTo(GuestState.PAUSED);
            assertThat(saved.checksums()).isEqualTo(before);
        }
    }

    @Test
    void aGuestWithoutDisksHasNoBlockSection() throws Exception {
        GuestSpec spec = new GuestSpec("nodisk", List.of(new RamBlockSpec("pc.ram", 16 * SavedGuests.MIB)), List.of(),
                100, WorkloadSpec.idle());
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest saved = SavedGuests.paused(spec, dir.resolve("a"))) {
            GuestSnapshotWriter.write(saved, file);
            try (SyntheticGuest restored = GuestSnapshotReader.restore(file, "copy", dir.resolve("b"),
                    WorkloadSpec.idle())) {
                assertThat(restored.checksums()).isEqualTo(saved.checksums());
                assertThat(restored.disks()).isEmpty();
            }
        }
    }

    @Test
    void restoresDisksAtTheGivenGenerations() throws Exception {
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest saved = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(saved, file);
        }

        try (SyntheticGuest restored = GuestSnapshotReader.restore(file, "copy", dir.resolve("b"), WorkloadSpec.idle(),
                Map.of("disk-0", 7L, "disk-1", 9L))) {
            assertThat(restored.disk("disk-0").activeGeneration()).isEqualTo(7);
            assertThat(restored.disk("disk-1").activeGeneration()).isEqualTo(9);
        }
    }

    @Test
    void aRunningGuestIsNotSaved() throws Exception {
        Path file = dir.resolve("guest.qemu");
        try (SyntheticGuest running = SyntheticGuest.create(SavedGuests.spec("src"), dir.resolve("a"))) {
            assertThatThrownBy(() -> GuestSnapshotWriter.write(running, file))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("only a paused guest");
        }
        assertThat(dir.resolve("guest.qemu")).doesNotExist();
    }

    @Test
    void anExistingFileIsNotOverwrittenAndNoPartialFileIsLeft() throws Exception {
        Path file = dir.resolve("guest.qemu");
        Files.writeString(file, "keep");
        try (SyntheticGuest saved = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            assertThatThrownBy(() -> GuestSnapshotWriter.write(saved, file)).isInstanceOf(FileAlreadyExistsException.class);
        }
        assertThat(file).hasContent("keep");
        assertThat(dir.resolve("guest.qemu.partial")).doesNotExist();
    }
}
