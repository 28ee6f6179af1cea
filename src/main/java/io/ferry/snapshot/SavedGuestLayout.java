package io.ferry.snapshot;

import io.ferry.guest.DiskSpec;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.MalformedStreamFileException;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFile;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * What a guest restored from a file {@link GuestSnapshotWriter} wrote will be, read from the
 * head of the file alone (the {@code ram} block list and the {@code ferry/guest} layout, which
 * come before any page): a control plane checks that the guest fits and names its new disks
 * before anything is restored. Reading stops at the layout, so a file damaged further on passes
 * here and is refused by {@link GuestSnapshotReader} (which checks every byte).
 *
 * @param ramBlocks        the saved guest's RAM blocks, in order
 * @param deviceStateBytes the size of its device state
 * @param disks            its disks, under their saved ids
 */
public record SavedGuestLayout(List<RamBlockInfo> ramBlocks, int deviceStateBytes, List<DiskSpec> disks) {

    public SavedGuestLayout {
        ramBlocks = List.copyOf(ramBlocks);
        disks = List.copyOf(disks);
    }

    /** The guest's memory: its RAM blocks together. */
    public long memoryBytes() {
        return ramBlocks.stream().mapToLong(RamBlockInfo::usedLength).sum();
    }

    /**
     * The layout at the head of {@code file}.
     *
     * @throws MalformedStreamFileException the decoder's reason and the offset, as a restore would
     *                                      say it, when the head is not a Ferry guest snapshot's
     * @throws IOException                  the file cannot be read
     */
    public static SavedGuestLayout read(Path file) throws IOException, MalformedStreamFileException {
        HeadListener listener = new HeadListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            StreamFile.decode(in, decoder);
        } catch (Found found) {
            return found.layout;
        } catch (StreamFormatException e) {
            throw new MalformedStreamFileException(decoder.position(), StreamFile.reason(e), e);
        }
        // the decoder accepted a whole stream without a layout section: endOfStream refuses that
        throw new MalformedStreamFileException(decoder.position(),
                "no '" + GuestLayoutSection.NAME + "' section", null);
    }

    /** Leaves the decoder as soon as the layout is known. */
    private static final class Found extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient SavedGuestLayout layout;

        Found(SavedGuestLayout layout) {
            super(null, null, false, false);
            this.layout = layout;
        }
    }

    /** The head of the stream, with {@link RestoringListener}'s checks on it. */
    private static final class HeadListener implements StreamListener {
        private List<RamBlockInfo> blocks;

        @Override
        public void configuration(String machineType) {
            GuestLayoutSection.requireFerryMachine(machineType);
        }

        @Override
        public void ramBlocks(List<RamBlockInfo> blocks) {
            this.blocks = List.copyOf(blocks);
        }

        @Override
        public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
            return GuestLayoutSection.format(idstr, instanceId);
        }

        @Override
        public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
            if (!idstr.equals(GuestLayoutSection.NAME)) {
                throw before("'" + idstr + "'");
            }
            if (blocks == null) {
                throw new StreamFormatException("'" + GuestLayoutSection.NAME + "' before the 'ram' block list");
            }
            GuestLayoutSection.Layout layout = GuestLayoutSection.read(payload, versionId);
            throw new Found(new SavedGuestLayout(blocks, layout.deviceStateBytes(), layout.disks()));
        }

        @Override
        public void page(int blockIndex, long pageIndex, ByteBuf data) {
            throw before("a RAM page");
        }

        @Override
        public void zeroPage(int blockIndex, long pageIndex, int fill) {
            throw before("a RAM page");
        }

        @Override
        public void blockSectionStart() {
            throw before("the block section");
        }

        @Override
        public void endOfStream() {
            throw before("EOF");
        }

        private static StreamFormatException before(String what) {
            return new StreamFormatException(what + " before the '" + GuestLayoutSection.NAME + "' section");
        }
    }
}
