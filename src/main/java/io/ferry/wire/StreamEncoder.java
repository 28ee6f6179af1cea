package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * Stateless writers of the migration stream's framing (layouts in {@link StreamFormat}). Safe to
 * share between threads and channels; per-channel RAM record state lives in {@link RamRecordWriter}.
 *
 * <p>A precopy stream, as Ferry writes it:
 * <pre>
 *   header(out, MACHINE_TYPE)
 *   sectionStart(out, SECTION_START, id, "ram", 0, 4)  ramBlockList(out, blocks)  ramEos(out)  footer(out, id)
 *   repeat: sectionPart(out, SECTION_PART, id)  page records...  ramEos(out)  footer(out, id)
 *   sectionPart(out, SECTION_END, id)  page records...  ramEos(out)  footer(out, id)
 *   deviceState(out, id2, state)
 *   eof(out)
 * </pre>
 *
 * <p>Post-copy recovery, on the new connection: no header (the destination's decoder goes on with
 * {@link StreamDecoder#continueOnNewStream}), and the {@link RamRecordWriter} is
 * {@link RamRecordWriter#reset reset}, because the destination forgets the last block too:
 * <pre>
 *   per RAM block: recvBitmap(out, block)     (each answered by a return-path RECV_BITMAP)
 *   postcopyResume(out)                       (answered by RESUME_ACK)
 *   sectionPart(out, SECTION_PART, id)  page records...  ramEos(out)  footer(out, id)   as before
 * </pre>
 */
public final class StreamEncoder {

    private StreamEncoder() {
    }

    /**
     * File header and configuration section, without subsections (Ferry uses 4 KiB pages, which is
     * also what a destination assumes when target-page-bits is absent, and no validatable
     * capability):
     * <pre>
     *   | be32 0x5145564D | be32 3 | 0x07 | be32 len | len bytes machine type |
     * </pre>
     */
    public static void header(ByteBuf out, String machineType) {
        byte[] name = machineType.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0) {
            throw new IllegalArgumentException("machine type must not be empty");
        }
        out.writeInt(StreamFormat.MAGIC);
        out.writeInt(StreamFormat.VERSION);
        out.writeByte(StreamFormat.CONFIGURATION);
        out.writeInt(name.length);
        out.writeBytes(name);
    }

    /**
     * START or FULL section header; the payload and {@link #footer} follow.
     * <pre>
     *   | type | be32 section_id | u8 n | idstr | be32 instance_id | be32 version_id |
     * </pre>
     */
    public static void sectionStart(ByteBuf out, byte type, int sectionId, String idstr, int instanceId,
                                    int versionId) {
        if (type != StreamFormat.SECTION_START && type != StreamFormat.SECTION_FULL) {
            throw new IllegalArgumentException("sectionStart writes START or FULL, not "
                    + StreamFormat.sectionTypeName(type));
        }
        out.writeByte(type);
        out.writeInt(sectionId);
        writeCountedString(out, idstr);
        out.writeInt(instanceId);
        out.writeInt(versionId);
    }

    /** PART or END section header: {@code | type | be32 section_id |}; payload and footer follow. */
    public static void sectionPart(ByteBuf out, byte type, int sectionId) {
        if (type != StreamFormat.SECTION_PART && type != StreamFormat.SECTION_END) {
            throw new IllegalArgumentException("sectionPart writes PART or END, not "
                    + StreamFormat.sectionTypeName(type));
        }
        out.writeByte(type);
        out.writeInt(sectionId);
    }

    /** Section footer: {@code | 0x7E | be32 section_id |}, the same id as the section's header. */
    public static void footer(ByteBuf out, int sectionId) {
        out.writeByte(StreamFormat.SECTION_FOOTER);
        out.writeInt(sectionId);
    }

    /**
     * The EOF byte {@code 0x00}. A migration writes nothing after it; a stream saved to a file
     * follows it with a {@link VmDescription}.
     */
    public static void eof(ByteBuf out) {
        out.writeByte(StreamFormat.EOF);
    }

    /**
     * The RAM block list of the {@code ram} START payload; the caller then writes {@link #ramEos}
     * and the footer.
     * <pre>
     *   | be64 total_bytes | MEM_SIZE |  then per block:  | u8 n | idstr | be64 used_length |
     * </pre>
     */
    public static void ramBlockList(ByteBuf out, List<RamBlockInfo> blocks) {
        long total = 0;
        for (RamBlockInfo block : blocks) {
            total = Math.addExact(total, block.usedLength());
        }
        out.writeLong(total | RamFlag.MEM_SIZE.code());
        for (RamBlockInfo block : blocks) {
            writeCountedString(out, block.idstr());
            out.writeLong(block.usedLength());
        }
    }

    /**
     * QEMU's {@code RAM_SAVE_FLAG_MULTIFD_FLUSH}, the standalone be64 word {@code 0x200}: the
     * destination places every page the multifd channels carried up to their SYNC packets before
     * it reads on.
     */
    public static void multifdFlush(ByteBuf out) {
        out.writeLong(RamFlag.MULTIFD_FLUSH.code());
    }

    /** End of a section's RAM payload: the standalone be64 word {@code 0x10}. */
    public static void ramEos(ByteBuf out) {
        out.writeLong(RamFlag.EOS.code());
    }

    /**
     * The header of a {@code block} DEVICE_BLOCK record; the caller writes exactly
     * {@link StreamFormat#BLOCK_CHUNK_BYTES} of data after it (so an image can be read straight
     * into {@code out}).
     */
    public static void blockChunkHeader(ByteBuf out, String device, long byteOffset) {
        blockRecord(out, device, byteOffset, StreamFormat.BLOCK_FLAG_DEVICE_BLOCK);
    }

    /** A {@code block} record for an all-zero chunk: header only, no data. */
    public static void blockZeroChunk(ByteBuf out, String device, long byteOffset) {
        blockRecord(out, device, byteOffset, StreamFormat.BLOCK_FLAG_DEVICE_BLOCK | StreamFormat.BLOCK_FLAG_ZERO_BLOCK);
    }

    /** A {@code block} PROGRESS record, 0..100 percent. */
    public static void blockProgress(ByteBuf out, int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent must be 0..100, was " + percent);
        }
        out.writeLong(((long) percent << StreamFormat.SECTOR_BITS) | StreamFormat.BLOCK_FLAG_PROGRESS);
    }

    /** The end of a {@code block} section's records. */
    public static void blockEos(ByteBuf out) {
        out.writeLong(StreamFormat.BLOCK_FLAG_EOS);
    }

    private static void blockRecord(ByteBuf out, String device, long byteOffset, int flags) {
        if (byteOffset < 0 || (byteOffset & ((1 << StreamFormat.SECTOR_BITS) - 1)) != 0) {
            throw new IllegalArgumentException("block offset must be a non-negative multiple of 512, was " + byteOffset);
        }
        byte[] name = device.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length > StreamFormat.MAX_COUNTED_STRING) {
            throw new IllegalArgumentException("device name must be 1..255 bytes, was " + name.length);
        }
        out.writeLong(byteOffset | flags);
        out.writeByte(name.length);
        out.writeBytes(name);
    }

    /**
     * A complete FULL section of Ferry's own {@link StreamFormat#DEVICE_STATE_SECTION} (instance 0,
     * version {@value StreamFormat#DEVICE_STATE_SECTION_VERSION}). The payload layout is Ferry's,
     * not a QEMU device's: a be32 length makes it self-describing, so a reader needs no device model.
     * <pre>
     *   | 0x04 | be32 section_id | 0x12 "ferry/device-state" | be32 0 | be32 1 |
     *   | be32 state_length | state bytes | 0x7E | be32 section_id |
     * </pre>
     */
    public static void deviceState(ByteBuf out, int sectionId, byte[] state) {
        Objects.requireNonNull(state, "state");
        sectionStart(out, StreamFormat.SECTION_FULL, sectionId, StreamFormat.DEVICE_STATE_SECTION, 0,
                StreamFormat.DEVICE_STATE_SECTION_VERSION);
        out.writeInt(state.length);
        out.writeBytes(state);
        footer(out, sectionId);
    }

    /** COMMAND OPEN_RETURN_PATH: {@code | 0x08 | be16 1 | be16 0 |}. */
    public static void openReturnPath(ByteBuf out) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_OPEN_RETURN_PATH);
        out.writeShort(0);
    }

    /** COMMAND PING: {@code | 0x08 | be16 2 | be16 4 | be32 value |}; answered by a return-path PONG. */
    public static void ping(ByteBuf out, int value) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_PING);
        out.writeShort(Integer.BYTES);
        out.writeInt(value);
    }

    /** COMMAND POSTCOPY_ADVISE with the RAM page-size summary and the target page size. */
    public static void postcopyAdvise(ByteBuf out) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_POSTCOPY_ADVISE);
        out.writeShort(2 * Long.BYTES);
        out.writeLong(StreamFormat.PAGE_SIZE);
        out.writeLong(StreamFormat.PAGE_SIZE);
    }

    /** COMMAND POSTCOPY_LISTEN. */
    public static void postcopyListen(ByteBuf out) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_POSTCOPY_LISTEN);
        out.writeShort(0);
    }

    /** COMMAND POSTCOPY_RUN. */
    public static void postcopyRun(ByteBuf out) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_POSTCOPY_RUN);
        out.writeShort(0);
    }

    /**
     * One COMMAND POSTCOPY_RAM_DISCARD for {@code count} (1..12) ranges of {@code block}, in bytes:
     * {@code starts[from..from+count)}, {@code lengths[from..from+count)}.
     */
    public static void postcopyDiscard(ByteBuf out, String block, long[] starts, long[] lengths, int from, int count) {
        if (count < 1 || count > StreamFormat.MAX_DISCARDS_PER_COMMAND) {
            throw new IllegalArgumentException("1.." + StreamFormat.MAX_DISCARDS_PER_COMMAND + " ranges per command, not "
                    + count);
        }
        byte[] name = block.getBytes(StandardCharsets.UTF_8);
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_POSTCOPY_RAM_DISCARD);
        out.writeShort(3 + name.length + 16 * count);
        out.writeByte(0);
        writeCountedString(out, block);
        out.writeByte(0);
        for (int i = from; i < from + count; i++) {
            out.writeLong(starts[i]);
            out.writeLong(lengths[i]);
        }
    }

    /**
     * COMMAND RECV_BITMAP (post-copy recovery, first thing on the new connection, once per RAM
     * block): {@code | 0x08 | be16 10 | be16 1+n | u8 n | n bytes block idstr |}. The destination
     * answers with {@link ReturnPathMessage.ReceivedBitmap}.
     */
    public static void recvBitmap(ByteBuf out, String blockName) {
        byte[] name = countedStringBytes(blockName);
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_RECV_BITMAP);
        out.writeShort(1 + name.length);
        writeCountedString(out, name);
    }

    /**
     * COMMAND POSTCOPY_RESUME: {@code | 0x08 | be16 9 | be16 0 |}, after the received bitmaps are
     * in; the destination answers with {@link ReturnPathMessage.ResumeAck}.
     */
    public static void postcopyResume(ByteBuf out) {
        out.writeByte(StreamFormat.COMMAND);
        out.writeShort(StreamFormat.CMD_POSTCOPY_RESUME);
        out.writeShort(0);
    }

    /** {@code | u8 n | n bytes |}, UTF-8, 1..255 bytes. */
    static void writeCountedString(ByteBuf out, String value) {
        writeCountedString(out, countedStringBytes(value));
    }

    static void writeCountedString(ByteBuf out, byte[] bytes) {
        out.writeByte(bytes.length);
        out.writeBytes(bytes);
    }

    static byte[] countedStringBytes(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > StreamFormat.MAX_COUNTED_STRING) {
            throw new IllegalArgumentException("counted string must be 1.." + StreamFormat.MAX_COUNTED_STRING
                    + " bytes, got " + bytes.length + ": '" + value + "'");
        }
        return bytes;
    }
}
