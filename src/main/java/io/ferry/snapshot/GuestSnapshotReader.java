package io.ferry.snapshot;

import io.ferry.wire.MalformedStreamFileException;
import io.ferry.guest.DiskImage;
import io.ferry.guest.GuestState;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFile;
import io.ferry.wire.StreamFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Restores a guest from a file {@link GuestSnapshotWriter} wrote, through the migration's own
 * {@link StreamDecoder}: every byte is checked before it is trusted, and the file is read in
 * pieces, so a guest of many GiB never sits in the heap.
 *
 * <p>All or nothing: when the file is refused (malformed, truncated, not a Ferry snapshot) or
 * cannot be read, the guest built so far is closed and its images deleted before the error
 * leaves, so no partial guest is left behind.
 */
public final class GuestSnapshotReader {


    private GuestSnapshotReader() {
    }

    /** {@link #restore(Path, String, Path, WorkloadSpec, Map)} with every disk at generation 1, as a new disk is. */
    public static SyntheticGuest restore(Path file, String guestId, Path datastoreDir, WorkloadSpec workload)
            throws IOException, MalformedStreamFileException {
        return restore(file, guestId, datastoreDir, workload, null);
    }

    /**
     * A new guest {@code guestId} with the saved memory, disks (as new images {@code <diskId>.img} in
     * {@code datastoreDir}) and device state, PAUSED, its disks active at {@code generations}
     * (disk id → ownership generation; null: all at 1).
     *
     * @throws MalformedStreamFileException the decoder's (or the restore's) reason and the file offset
     * @throws IOException                the file cannot be read, an image cannot be written, or an image
     *                                    file of a saved disk exists in the datastore already
     */
    public static SyntheticGuest restore(Path file, String guestId, Path datastoreDir, WorkloadSpec workload,
                                         Map<String, Long> generations)
            throws IOException, MalformedStreamFileException {
        return restore(file, guestId, datastoreDir, workload, generations, UnaryOperator.identity());
    }

    /**
     * As above, each saved disk restored under the id {@code diskIds} gives it (saved id → new id;
     * {@code generations} are by new id): a control plane gives a restored guest disks of its own,
     * beside the saved guest's, which may still exist.
     */
    public static SyntheticGuest restore(Path file, String guestId, Path datastoreDir, WorkloadSpec workload,
                                         Map<String, Long> generations, UnaryOperator<String> diskIds)
            throws IOException, MalformedStreamFileException {
        RestoringListener listener = new RestoringListener(guestId, datastoreDir, workload, diskIds);
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            StreamFile.decode(in, decoder);
            return finish(listener.guest(), generations);
        } catch (StreamFormatException e) {
            discard(listener, e);
            throw new MalformedStreamFileException(decoder.position(), StreamFile.reason(e), e);
        } catch (UncheckedIOException e) {
            discard(listener, e.getCause());
            throw e.getCause();
        } catch (IOException | RuntimeException | Error e) {
            discard(listener, e);
            throw e;
        }
    }


    /** Paused, images on storage and active: the guest a save was taken of. */
    private static SyntheticGuest finish(SyntheticGuest guest, Map<String, Long> generations) throws IOException {
        for (DiskImage image : guest.disks()) {
            image.flush();
        }
        guest.setState(GuestState.PAUSED);
        Map<String, Long> active = generations;
        if (active == null) {
            active = new LinkedHashMap<>();
            for (var disk : guest.spec().disks()) {
                active.put(disk.diskId(), 1L);
            }
        }
        guest.activateDisks(active);
        return guest;
    }

    private static void discard(RestoringListener listener, Throwable failure) {
        SyntheticGuest guest = listener.guest();
        if (guest == null) {
            return;
        }
        try {
            guest.deleteImages();
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

}
