package io.ferry.snapshot;

import io.ferry.guest.DiskImage;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a guest from what the decoder reports for a file {@link GuestSnapshotWriter} wrote: the
 * guest is created when the {@code ferry/guest} layout arrives (after the ram block list, before
 * any page), then filled page by page and chunk by chunk, and given its device state last.
 *
 * <p>Everything a snapshot cannot hold is refused: another machine type, a page or chunk before
 * the layout, a disk or offset the layout does not have, an unknown section, commands, XBZRLE,
 * multifd (the last three by {@link StreamListener}'s defaults). The images are created new;
 * an image file already in the datastore is never truncated — the restore is refused instead.
 *
 * <p>I/O errors leave as {@link UncheckedIOException}, since listener methods throw no checked
 * exceptions. Used by the one thread that feeds the decoder.
 */
final class RestoringListener implements StreamListener {

    private static final int CHUNK = StreamFormat.BLOCK_CHUNK_BYTES;

    private final String guestId;
    private final Path datastoreDir;
    private final WorkloadSpec workload;
    /** The restored guest's id for each saved disk id (a restore on a fleet gives its disks new ids). */
    private final java.util.function.UnaryOperator<String> diskIds;

    private List<RamBlockInfo> blocks;
    /** Null until the layout arrives. */
    private SyntheticGuest guest;
    private List<RamBlock> ram;
    private boolean deviceStateLoaded;

    // The chunk whose data is arriving, and per disk the chunks written so far.
    private DiskImage chunkImage;
    private long chunkOffset;
    private final Map<String, BitSet> chunksWithData = new HashMap<>();

    RestoringListener(String guestId, Path datastoreDir, WorkloadSpec workload,
                      java.util.function.UnaryOperator<String> diskIds) {
        this.guestId = guestId;
        this.datastoreDir = datastoreDir;
        this.workload = workload;
        this.diskIds = diskIds;
    }

    /** The guest being built, or null if the stream has not reached its layout. */
    SyntheticGuest guest() {
        return guest;
    }

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
        if (idstr.equals(GuestLayoutSection.NAME)) {
            createGuest(GuestLayoutSection.read(payload, versionId));
            return;
        }
        requireGuest("device state");
        try {
            guest.loadDeviceState(ByteBufUtil.getBytes(payload));
        } catch (IllegalArgumentException e) {
            throw new StreamFormatException("'" + idstr + "' does not fit the layout: " + e.getMessage());
        }
        deviceStateLoaded = true;
    }

    @Override
    public void page(int blockIndex, long pageIndex, ByteBuf data) {
        requireGuest("a RAM page");
        ram.get(blockIndex).writePage(pageIndex, data, data.readerIndex());
    }

    @Override
    public void zeroPage(int blockIndex, long pageIndex, int fill) {
        requireGuest("a RAM page");
        RamBlock block = ram.get(blockIndex);
        if (fill == 0) {
            block.zeroPage(pageIndex);
        } else {
            byte[] filled = new byte[StreamFormat.PAGE_SIZE];
            Arrays.fill(filled, (byte) fill);
            block.writePage(pageIndex, Unpooled.wrappedBuffer(filled), 0);
        }
    }

    @Override
    public void blockSectionStart() {
        requireGuest("the block section");
    }

    @Override
    public void blockChunk(String device, long byteOffset, boolean zero) {
        DiskImage image;
        try {
            image = guest.disk(diskIds.apply(device));
        } catch (IllegalArgumentException e) {
            throw new StreamFormatException("block data for device '" + device + "', which the layout does not have");
        }
        if (byteOffset % CHUNK != 0 || byteOffset >= image.sizeBytes()) {
            throw new StreamFormatException("block chunk at byte " + byteOffset + " of device '" + device
                    + "' is not a chunk of its " + image.sizeBytes() + " bytes");
        }
        BitSet written = chunksWithData.computeIfAbsent(device, d -> new BitSet());
        int chunk = (int) (byteOffset / CHUNK);
        if (zero && written.get(chunk)) {   // a new image reads zero: only data written before needs clearing
            write(image, byteOffset, ByteBuffer.allocate(CHUNK));
        }
        written.set(chunk, !zero);
        chunkImage = image;
        chunkOffset = byteOffset;
    }

    @Override
    public void blockData(long offsetInChunk, ByteBuf data) {
        long at = chunkOffset + offsetInChunk;
        if (at < chunkImage.sizeBytes()) {   // the last chunk is padded to 1 MiB: the rest is not the disk's
            write(chunkImage, at, data.nioBuffer());
        }
    }

    @Override
    public void endOfStream() {
        requireGuest("EOF");
        if (!deviceStateLoaded) {
            throw new StreamFormatException("EOF before the '" + StreamFormat.DEVICE_STATE_SECTION + "' section");
        }
    }

    private void createGuest(GuestLayoutSection.Layout layout) {
        if (guest != null) {
            throw new StreamFormatException("a second '" + GuestLayoutSection.NAME + "' section");
        }
        if (blocks == null) {
            throw new StreamFormatException("'" + GuestLayoutSection.NAME + "' before the 'ram' block list");
        }
        GuestSpec spec;
        try {
            spec = new GuestSpec(guestId, blocks.stream().map(b -> new RamBlockSpec(b.idstr(), b.usedLength())).toList(),
                    layout.disks().stream().map(d -> new DiskSpec(diskIds.apply(d.diskId()), d.name(), d.sizeBytes()))
                            .toList(), layout.deviceStateBytes(), workload);
        } catch (IllegalArgumentException e) {
            throw new StreamFormatException("the saved guest's layout is not a guest: " + e.getMessage());
        }
        try {
            for (DiskSpec disk : spec.disks()) {
                Path image = datastoreDir.resolve(disk.imageFileName());
                if (Files.exists(image)) {
                    throw new FileAlreadyExistsException(image.toString(), null,
                            "a restore creates its images and never overwrites one");
                }
            }
            guest = SyntheticGuest.createIncoming(spec, datastoreDir, SyntheticGuest.IncomingImages.COPY);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ram = guest.memory().blocks();
    }

    private void requireGuest(String what) {
        if (guest == null) {
            throw new StreamFormatException(what + " before the '" + GuestLayoutSection.NAME + "' section");
        }
    }

    private static void write(DiskImage image, long offset, ByteBuffer data) {
        try {
            image.writeIncoming(offset, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
