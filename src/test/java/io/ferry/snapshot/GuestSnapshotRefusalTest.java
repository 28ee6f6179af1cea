package io.ferry.snapshot;

import io.ferry.wire.MalformedStreamFileException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.inspect.StreamInspector;
import io.ferry.inspect.StreamSummary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files a restore must refuse, each with the decoder's reason and offset, and no guest or image left behind. */
class GuestSnapshotRefusalTest {

    private static final int DEVICE_STATE_BYTES = 4096 + 8;   // the spec's blob and its disk-write trailer

    @TempDir
    Path dir;

    private Path saved;
    private byte[] bytes;
    private StreamSummary summary;
    private Path datastore;

    @BeforeEach
    void saveAGuest() throws Exception {
        saved = dir.resolve("guest.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("src"), dir.resolve("a"))) {
            GuestSnapshotWriter.write(guest, saved);
        }
        bytes = Files.readAllBytes(saved);
        summary = new StreamInspector().inspect(saved, null);
        datastore = dir.resolve("b");
    }

    @Test
    void aFileCutAnywhereBeforeEofIsRefusedAsTruncated() throws Exception {
        long eof = summary.eofOffset();
        long[] cuts = {0, 3, 9, 40, 200, bytes.length / 3, bytes.length / 2, eof - 2000, eof - 1, eof};
        for (long cut : cuts) {
            Path file = write("cut-" + cut, Arrays.copyOf(bytes, (int) cut));

            assertThatThrownBy(() -> restore(file))
                    .as("cut at %d", cut)
                    .isInstanceOfSatisfying(MalformedStreamFileException.class, e -> {
                        assertThat(e.reason()).contains("truncated");
                        assertThat(e.offset()).isBetween(0L, cut);
                    });
            assertNoImagesIn(datastore);
        }
    }

    @Test
    void aFileCutInsideItsVmDescriptionStillRestores() throws Exception {
        // every byte of the guest is before EOF; QEMU too only drains the description
        Path file = write("cut-vmdesc", Arrays.copyOf(bytes, (int) summary.eofOffset() + 10));

        try (SyntheticGuest restored = restore(file)) {
            assertThat(restored.memory().totalBytes()).isEqualTo(16 * SavedGuests.MIB);
        }
    }

    @Test
    void aBadMagicIsRefusedAtByteZero() throws Exception {
        byte[] broken = bytes.clone();
        broken[0] = 'X';

        assertThatThrownBy(() -> restore(write("magic", broken)))
                .isInstanceOfSatisfying(MalformedStreamFileException.class, e -> {
                    assertThat(e.offset()).isZero();
                    assertThat(e.reason()).containsIgnoringCase("magic");
                });
    }

    /** The guest exists by then, with its images: they go. */
    @Test
    void aDeviceStateLengthOffByOneIsRefusedAtItsFooterAndTheBuiltGuestIsDiscarded() throws Exception {
        byte[] broken = bytes.clone();
        int lengthAt = (int) summary.eofOffset() - 5 - DEVICE_STATE_BYTES - Integer.BYTES;
        assertThat(ByteBuffer.wrap(broken, lengthAt, 4).getInt()).isEqualTo(DEVICE_STATE_BYTES);
        ByteBuffer.wrap(broken).putInt(lengthAt, DEVICE_STATE_BYTES - 1);

        assertThatThrownBy(() -> restore(write("length", broken)))
                .isInstanceOfSatisfying(MalformedStreamFileException.class, e -> {
                    assertThat(e.reason()).contains("Missing section footer for ferry/device-state");
                    assertThat(e.offset()).isEqualTo(lengthAt);   // the section's payload, where the decoder stood
                });
        assertNoImagesIn(datastore);
    }

    @Test
    void anUnknownByteWhereEofBelongsIsRefusedThere() throws Exception {
        byte[] broken = bytes.clone();
        broken[(int) summary.eofOffset()] = 0x09;

        assertThatThrownBy(() -> restore(write("eof", broken)))
                .isInstanceOfSatisfying(MalformedStreamFileException.class, e -> {
                    assertThat(e.reason()).isEqualTo("Unknown section type 0x09");
                    assertThat(e.offset()).isEqualTo(summary.eofOffset());
                });
        assertNoImagesIn(datastore);
    }

    @Test
    void aQemuCompatibleSaveIsNotAFerrySnapshot() throws Exception {
        Path qemu = dir.resolve("pc.qemu");
        try (SyntheticGuest guest = SavedGuests.paused(SavedGuests.spec("other"), dir.resolve("c"))) {
            QemuPcSave.write(guest, qemu);
        }

        assertThatThrownBy(() -> restore(qemu))
                .isInstanceOfSatisfying(MalformedStreamFileException.class, e -> assertThat(e.reason())
                        .isEqualTo("machine 'pc-i440fx-7.2' is not a Ferry guest snapshot (machine 'ferry-synthetic')"));
    }

    @Test
    void anImageAlreadyInTheDatastoreIsNeitherOverwrittenNorRestoredOver() throws Exception {
        Files.createDirectories(datastore);
        Path existing = datastore.resolve("disk-1.img");
        Files.writeString(existing, "another guest's disk");

        assertThatThrownBy(() -> restore(saved)).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(existing).hasContent("another guest's disk");
        try (Stream<Path> files = Files.list(datastore)) {
            assertThat(files).containsExactly(existing);
        }
    }

    private SyntheticGuest restore(Path file) throws IOException, MalformedStreamFileException {
        return GuestSnapshotReader.restore(file, "copy", datastore, WorkloadSpec.idle());
    }

    private Path write(String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    private static void assertNoImagesIn(Path datastore) throws IOException {
        if (Files.isDirectory(datastore)) {
            try (Stream<Path> files = Files.list(datastore)) {
                assertThat(files).isEmpty();
            }
        }
    }
}
