package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Stateless writers of stream elements into a buffer. Per-channel RAM state lives in {@link RamRecordWriter}. */
public final class StreamEncoder {

    private StreamEncoder() {
    }

    /** Magic, version, then the configuration section (machine type, no subsections). */
    public static void header(ByteBuf out, String machineType) {
        byte[] name = machineType.getBytes(StandardCharsets.US_ASCII);
        out.writeInt(StreamFormat.MAGIC);
        out.writeInt(StreamFormat.VERSION);
        out.writeByte(StreamFormat.CONFIGURATION);
        out.writeInt(name.length);
        out.writeBytes(name);
    }

    public static void sectionStart(ByteBuf out, byte type, int sectionId, String idstr, int instanceId,
                                    int versionId) {
        if (type != StreamFormat.SECTION_START && type != StreamFormat.SECTION_FULL) {
            throw new IllegalArgumentException("START or FULL expected, got " + type);
        }
        out.writeByte(type);
        out.writeInt(sectionId);
        countedString(out, idstr);
        out.writeInt(instanceId);
        out.writeInt(versionId);
    }

    public static void sectionPart(ByteBuf out, byte type, int sectionId) {
        if (type != StreamFormat.SECTION_PART && type != StreamFormat.SECTION_END) {
            throw new IllegalArgumentException("PART or END expected, got " + type);
        }
        out.writeByte(type);
        out.writeInt(sectionId);
    }

    public static void footer(ByteBuf out, int sectionId) {
        out.writeByte(StreamFormat.SECTION_FOOTER);
        out.writeInt(sectionId);
    }

    public static void eof(ByteBuf out) {
        out.writeByte(StreamFormat.EOF);
    }

    /** be64 total|MEM_SIZE, then each block's counted idstr and be64 length. The caller ends with EOS. */
    public static void ramBlockList(ByteBuf out, List<RamBlockInfo> blocks) {
        long total = blocks.stream().mapToLong(RamBlockInfo::usedLength).sum();
        out.writeLong(total | RamFlag.MEM_SIZE.code());
        for (RamBlockInfo block : blocks) {
            countedString(out, block.idstr());
            out.writeLong(block.usedLength());
        }
    }

    public static void ramEos(ByteBuf out) {
        out.writeLong(RamFlag.EOS.code());
    }

    /** A whole FULL section for Ferry's device state: be32 length + the blob, then the footer. */
    public static void deviceState(ByteBuf out, int sectionId, byte[] state) {
        sectionStart(out, StreamFormat.SECTION_FULL, sectionId, StreamFormat.DEVICE_STATE_SECTION, 0,
                StreamFormat.DEVICE_STATE_VERSION);
        out.writeInt(state.length);
        out.writeBytes(state);
        footer(out, sectionId);
    }

    static void countedString(ByteBuf out, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length > 255) {
            throw new IllegalArgumentException("a counted string has 1..255 bytes: '" + text + "'");
        }
        out.writeByte(bytes.length);
        out.writeBytes(bytes);
    }
}
