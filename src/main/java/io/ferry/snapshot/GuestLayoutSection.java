package io.ferry.snapshot;

import io.ferry.guest.DiskSpec;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Ferry's {@code ferry/guest} section: what a restore needs to build the guest before the pages
 * and chunks arrive, and that QEMU's own sections do not say — the device-state size and each
 * disk's id, name and size (the block section only names a disk, and pads its last chunk). The
 * RAM blocks need no entry: the {@code ram} START lists them.
 *
 * <pre>
 *   FULL "ferry/guest" instance 0 version 1, payload:
 *   | be32 n | be32 device_state_bytes | be16 disk_count |
 *   |        | per disk: u8 n diskId | be16 n name (UTF-8) | be64 size_bytes |
 *   (n counts the bytes after it, like Ferry's other sections, so any reader can step over it)
 * </pre>
 */
final class GuestLayoutSection {

    static final String NAME = "ferry/guest";
    static final int VERSION = 1;

    /** The layout a restore builds its guest from. */
    record Layout(int deviceStateBytes, List<DiskSpec> disks) {
    }

    private GuestLayoutSection() {
    }

    /** A Ferry guest snapshot names Ferry's machine: anything else (a QEMU stream) is refused. */
    static void requireFerryMachine(String machineType) {
        if (!machineType.equals(StreamFormat.MACHINE_TYPE)) {
            throw new StreamFormatException("machine '" + machineType + "' is not a Ferry guest snapshot (machine '"
                    + StreamFormat.MACHINE_TYPE + "')");
        }
    }

    /** How this section's payload is framed, for a decoder's listener; null for any other section. */
    static DeviceSectionFormat format(String idstr, int instanceId) {
        return idstr.equals(NAME) && instanceId == 0 ? DeviceSectionFormat.lengthPrefixed() : null;
    }

    /**
     * The whole FULL section.
     *
     * @return the payload's bytes, for the vmdesc
     */
    static int write(ByteBuf out, int sectionId, Layout layout) {
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_FULL, sectionId, NAME, 0, VERSION);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        out.writeInt(layout.deviceStateBytes());
        out.writeShort(layout.disks().size());
        for (DiskSpec disk : layout.disks()) {
            byte[] id = disk.diskId().getBytes(StandardCharsets.US_ASCII);
            byte[] name = disk.name().getBytes(StandardCharsets.UTF_8);
            out.writeByte(id.length).writeBytes(id);
            out.writeShort(name.length).writeBytes(name);
            out.writeLong(disk.sizeBytes());
        }
        int length = out.writerIndex() - lengthAt - Integer.BYTES;
        out.setInt(lengthAt, length);
        StreamEncoder.footer(out, sectionId);
        return Integer.BYTES + length;
    }

    /**
     * The layout in a payload (be32 length included, as the decoder hands over sections it measured).
     *
     * @throws StreamFormatException if the payload is not a layout (short, trailing bytes, or an invalid disk)
     */
    static Layout read(ByteBuf payload, int version) {
        if (version != VERSION) {
            throw new StreamFormatException("savevm: unsupported version " + version + " for '" + NAME + "' v" + VERSION);
        }
        ByteBuf in = payload.duplicate();
        try {
            in.skipBytes(Integer.BYTES);
            int deviceStateBytes = in.readInt();
            int count = in.readUnsignedShort();
            List<DiskSpec> disks = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                String id = in.readCharSequence(in.readUnsignedByte(), StandardCharsets.US_ASCII).toString();
                String name = in.readCharSequence(in.readUnsignedShort(), StandardCharsets.UTF_8).toString();
                disks.add(new DiskSpec(id, name, in.readLong()));
            }
            if (in.isReadable()) {
                throw new StreamFormatException("'" + NAME + "' has " + in.readableBytes() + " bytes after its last disk");
            }
            return new Layout(deviceStateBytes, List.copyOf(disks));
        } catch (IndexOutOfBoundsException e) {
            throw new StreamFormatException("'" + NAME + "' ends inside its layout");
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new StreamFormatException("'" + NAME + "' holds an invalid disk: " + e.getMessage());
        }
    }
}
