package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes one channel's migration stream into {@link StreamListener} calls. A state machine
 * over named states; {@link #feed} consumes every complete element and leaves a partial one
 * unread, so bytes may arrive in any split, one at a time included. Every length, offset and
 * code is checked before anything is passed on: a bad record is a {@link StreamFormatException},
 * never a write. No allocation per page: page data is passed as a slice of the input.
 */
public final class StreamDecoder {

    private enum State {
        HEADER, CONFIGURATION, SECTION, SECTION_HEADER, RAM_RECORDS, DEVICE_PAYLOAD, FOOTER, VMDESCRIPTION, DONE
    }

    private final StreamListener listener;
    private final DecoderLimits limits;
    private State state = State.HEADER;

    /** Section ids introduced by START/FULL, with what they are. */
    private final Map<Integer, String> sections = new HashMap<>();
    private byte sectionType;
    private int sectionId;
    private String sectionIdstr;
    private int instanceId;
    private int versionId;
    private boolean blockListExpected;

    private List<RamBlockInfo> blocks;
    private Map<String, Integer> blockIndex;
    private int lastBlock = -1;

    public StreamDecoder(StreamListener listener, DecoderLimits limits) {
        this.listener = listener;
        this.limits = limits;
    }

    /** True once EOF was read (an optional vmdesc may still follow). */
    public boolean finished() {
        return state == State.DONE || state == State.VMDESCRIPTION;
    }

    public void feed(ByteBuf in) {
        boolean progress = true;
        while (progress && in.isReadable()) {
            progress = switch (state) {
                case HEADER -> header(in);
                case CONFIGURATION -> configuration(in);
                case SECTION -> section(in);
                case SECTION_HEADER -> sectionHeader(in);
                case RAM_RECORDS -> ramRecord(in);
                case DEVICE_PAYLOAD -> devicePayload(in);
                case FOOTER -> footer(in);
                case VMDESCRIPTION -> vmDescription(in);
                case DONE -> throw new StreamFormatException(in.readableBytes() + " byte(s) after the end of the stream");
            };
        }
    }

    private boolean header(ByteBuf in) {
        if (in.readableBytes() < 8) {
            return false;
        }
        int magic = in.readInt();
        if (magic != StreamFormat.MAGIC) {
            throw new StreamFormatException("not a migration stream: magic 0x" + Integer.toHexString(magic));
        }
        int version = in.readInt();
        if (version == StreamFormat.VERSION_COMPAT) {
            throw new StreamFormatException("stream version 2 is obsolete");
        }
        if (version != StreamFormat.VERSION) {
            throw new StreamFormatException("Unsupported migration stream version " + version);
        }
        state = State.CONFIGURATION;
        return true;
    }

    private boolean configuration(ByteBuf in) {
        if (in.readableBytes() < 5) {
            return false;
        }
        int at = in.readerIndex();
        if (in.getByte(at) != StreamFormat.CONFIGURATION) {
            throw new StreamFormatException("Configuration section missing");
        }
        long length = in.getUnsignedInt(at + 1);
        if (length > limits.maxMachineTypeLength()) {
            throw new StreamFormatException("machine type of " + length + " bytes exceeds the limit of "
                    + limits.maxMachineTypeLength());
        }
        if (in.readableBytes() < 5 + length) {
            return false;
        }
        String machine = in.toString(at + 5, (int) length, StandardCharsets.US_ASCII);
        in.skipBytes(5 + (int) length);
        listener.configuration(machine);
        state = State.SECTION;
        return true;
    }

    private boolean section(ByteBuf in) {
        byte type = in.getByte(in.readerIndex());
        switch (type) {
            case StreamFormat.SECTION_START, StreamFormat.SECTION_FULL, StreamFormat.SECTION_PART,
                 StreamFormat.SECTION_END -> {
                sectionType = type;
                state = State.SECTION_HEADER;
                return true;
            }
            case StreamFormat.EOF -> {
                in.skipBytes(1);
                state = State.VMDESCRIPTION;
                listener.endOfStream();
                return true;
            }
            default -> throw new StreamFormatException("unknown section type 0x" + Integer.toHexString(type & 0xff));
        }
    }

    private boolean sectionHeader(ByteBuf in) {
        int at = in.readerIndex();
        if (sectionType == StreamFormat.SECTION_PART || sectionType == StreamFormat.SECTION_END) {
            if (in.readableBytes() < 5) {
                return false;
            }
            sectionId = in.getInt(at + 1);
            String idstr = sections.get(sectionId);
            if (!StreamFormat.RAM_SECTION.equals(idstr)) {
                throw new StreamFormatException("unknown section id " + sectionId + " in a "
                        + (sectionType == StreamFormat.SECTION_PART ? "PART" : "END") + " section");
            }
            in.skipBytes(5);
            sectionIdstr = idstr;
            state = State.RAM_RECORDS;
            return true;
        }
        if (in.readableBytes() < 6) {
            return false;
        }
        int length = in.getUnsignedByte(at + 5);
        if (length == 0) {
            throw new StreamFormatException("empty section name");
        }
        if (in.readableBytes() < 6 + length + 8) {
            return false;
        }
        sectionId = in.getInt(at + 1);
        sectionIdstr = in.toString(at + 6, length, StandardCharsets.US_ASCII);
        instanceId = in.getInt(at + 6 + length);
        versionId = in.getInt(at + 10 + length);
        in.skipBytes(6 + length + 8);
        if (sectionType == StreamFormat.SECTION_START) {
            if (!StreamFormat.RAM_SECTION.equals(sectionIdstr)) {
                throw new StreamFormatException("Unknown savevm section or instance '" + sectionIdstr + "' "
                        + instanceId + " (only 'ram' is iterative here)");
            }
            if (versionId > StreamFormat.RAM_SECTION_VERSION) {
                throw new StreamFormatException("savevm: unsupported version " + versionId + " for 'ram' (max "
                        + StreamFormat.RAM_SECTION_VERSION + ")");
            }
            if (sections.containsValue(StreamFormat.RAM_SECTION)) {
                throw new StreamFormatException("second START section for 'ram'");
            }
            sections.put(sectionId, sectionIdstr);
            blockListExpected = true;
            state = State.RAM_RECORDS;
        } else {
            if (!limits.deviceSections().containsKey(sectionIdstr)) {
                throw new StreamFormatException("Unknown savevm section '" + sectionIdstr + "'");
            }
            state = State.DEVICE_PAYLOAD;
        }
        return true;
    }

    private boolean devicePayload(ByteBuf in) {
        int length = limits.deviceSections().get(sectionIdstr).payloadLength(in, versionId);
        if (length < 0 || in.readableBytes() < length) {
            return false;
        }
        ByteBuf payload = in.slice(in.readerIndex(), length);
        listener.deviceState(sectionIdstr, instanceId, versionId, payload);
        in.skipBytes(length);
        state = State.FOOTER;
        return true;
    }

    private boolean footer(ByteBuf in) {
        if (in.readableBytes() < 5) {
            return false;
        }
        byte marker = in.getByte(in.readerIndex());
        if (marker != StreamFormat.SECTION_FOOTER) {
            throw new StreamFormatException("Missing section footer for " + sectionIdstr);
        }
        int id = in.getInt(in.readerIndex() + 1);
        if (id != sectionId) {
            throw new StreamFormatException("Mismatched section id in footer for " + sectionIdstr + " - read 0x"
                    + Integer.toHexString(id) + " expected 0x" + Integer.toHexString(sectionId));
        }
        in.skipBytes(5);
        state = State.SECTION;
        return true;
    }

    private boolean ramRecord(ByteBuf in) {
        if (in.readableBytes() < 8) {
            return false;
        }
        int at = in.readerIndex();
        long word = in.getLong(at);
        int flags = (int) (word & (StreamFormat.PAGE_SIZE - 1));
        long offset = word & -StreamFormat.PAGE_SIZE;
        if (blockListExpected) {
            if (flags != RamFlag.MEM_SIZE.code()) {
                throw new StreamFormatException("the RAM section must start with its block list (MEM_SIZE), got flags 0x"
                        + Integer.toHexString(flags));
            }
            return blockList(in, offset);
        }
        if (flags == RamFlag.EOS.code()) {
            if (offset != 0) {
                throw new StreamFormatException("EOS with non-zero address 0x" + Long.toHexString(offset));
            }
            in.skipBytes(8);
            listener.endOfRamSection(sectionType);
            state = State.FOOTER;
            return true;
        }
        boolean cont = (flags & RamFlag.CONTINUE.code()) != 0;
        int kind = flags & ~RamFlag.CONTINUE.code();
        if (kind != RamFlag.ZERO.code() && kind != RamFlag.PAGE.code()) {
            throw new StreamFormatException("Unknown combination of migration flags: 0x" + Integer.toHexString(flags)
                    + describe(flags));
        }
        if (blocks == null) {
            throw new StreamFormatException("page record before the RAM block list");
        }
        int idstrBytes = 0;
        int block;
        if (cont) {
            if (lastBlock < 0) {
                throw new StreamFormatException("Ack, bad migration stream! CONTINUE before any block");
            }
            block = lastBlock;
        } else {
            if (in.readableBytes() < 9) {
                return false;
            }
            int length = in.getUnsignedByte(at + 8);
            if (in.readableBytes() < 9 + length) {
                return false;
            }
            String idstr = in.toString(at + 9, length, StandardCharsets.US_ASCII);
            Integer index = blockIndex.get(idstr);
            if (index == null) {
                throw new StreamFormatException("Unknown ramblock \"" + idstr + "\", cannot accept migration");
            }
            block = index;
            idstrBytes = 1 + length;
        }
        int dataBytes = kind == RamFlag.PAGE.code() ? StreamFormat.PAGE_SIZE : 1;
        if (in.readableBytes() < 8 + idstrBytes + dataBytes) {
            return false;
        }
        long used = blocks.get(block).usedLength();
        if (offset >= used) {
            throw new StreamFormatException("page offset 0x" + Long.toHexString(offset) + " is outside RAM block '"
                    + blocks.get(block).idstr() + "' of " + used + " bytes");
        }
        long page = offset >>> StreamFormat.PAGE_BITS;
        int dataAt = at + 8 + idstrBytes;
        lastBlock = block;
        if (kind == RamFlag.PAGE.code()) {
            listener.page(block, page, in, dataAt);
        } else {
            listener.zeroPage(block, page, in.getUnsignedByte(dataAt));
        }
        in.skipBytes(8 + idstrBytes + dataBytes);
        return true;
    }

    /** The whole block list must be present before any of it is consumed. */
    private boolean blockList(ByteBuf in, long total) {
        int at = in.readerIndex() + 8;
        List<RamBlockInfo> list = new ArrayList<>();
        long left = total;
        while (left > 0) {
            if (list.size() == limits.maxRamBlocks()) {
                throw new StreamFormatException("more than " + limits.maxRamBlocks() + " RAM blocks");
            }
            if (in.writerIndex() < at + 1) {
                return false;
            }
            int length = in.getUnsignedByte(at);
            if (length == 0) {
                throw new StreamFormatException("empty RAM block name");
            }
            if (in.writerIndex() < at + 1 + length + 8) {
                return false;
            }
            String idstr = in.toString(at + 1, length, StandardCharsets.US_ASCII);
            long used = in.getLong(at + 1 + length);
            if (used <= 0 || used > left || (used & (StreamFormat.PAGE_SIZE - 1)) != 0) {
                throw new StreamFormatException("RAM block '" + idstr + "' has length " + used
                        + ", which does not fit the announced total of " + total + " bytes in whole pages");
            }
            list.add(new RamBlockInfo(idstr, used));
            left -= used;
            at += 1 + length + 8;
        }
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            if (index.put(list.get(i).idstr(), i) != null) {
                throw new StreamFormatException("RAM block '" + list.get(i).idstr() + "' announced twice");
            }
        }
        listener.ramBlocks(List.copyOf(list));
        blocks = List.copyOf(list);
        blockIndex = index;
        blockListExpected = false;
        in.readerIndex(at);
        return true;
    }

    /** QEMU's JSON description may follow EOF; it is read and dropped (bounded). */
    private boolean vmDescription(ByteBuf in) {
        if (in.getByte(in.readerIndex()) != StreamFormat.VMDESCRIPTION) {
            throw new StreamFormatException(in.readableBytes() + " byte(s) after the end of the stream");
        }
        if (in.readableBytes() < 5) {
            return false;
        }
        long length = in.getUnsignedInt(in.readerIndex() + 1);
        if (length > limits.maxVmDescriptionBytes()) {
            throw new StreamFormatException("VM description of " + length + " bytes exceeds the limit");
        }
        if (in.readableBytes() < 5 + length) {
            return false;
        }
        in.skipBytes(5 + (int) length);
        state = State.DONE;
        return true;
    }

    private static String describe(int flags) {
        StringBuilder names = new StringBuilder(" (");
        for (int bit = 0; bit < 12; bit++) {
            if ((flags & (1 << bit)) != 0) {
                try {
                    RamFlag flag = RamFlag.of(1 << bit);
                    names.append(flag).append(flag.supported() ? "" : " unsupported").append(' ');
                } catch (StreamFormatException unknown) {
                    names.append("0x").append(Integer.toHexString(1 << bit)).append(" unknown ");
                }
            }
        }
        return names.toString().trim() + ")";
    }
}
