package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Records every callback as one line of text, so a test compares the whole conversation with one
 * assertion; optionally keeps a copy of guest memory so page bytes can be checked.
 */
class RecordingListener implements StreamListener {

    final List<String> events = new ArrayList<>();
    final List<String> pages = new ArrayList<>();
    final Map<String, DeviceSectionFormat> formats = new HashMap<>();
    final Map<String, byte[]> deviceStates = new HashMap<>();
    List<RamBlockInfo> blocks;
    byte[][] memory;
    private final boolean keepMemory;
    private final byte[] scratch = new byte[StreamFormat.PAGE_SIZE];

    RecordingListener() {
        this(false);
    }

    RecordingListener(boolean keepMemory) {
        this.keepMemory = keepMemory;
    }

    @Override
    public void configuration(String machineType) {
        events.add("configuration " + machineType);
    }

    @Override
    public void ramBlocks(List<RamBlockInfo> blocks) {
        this.blocks = blocks;
        events.add("ramBlocks " + blocks);
        if (keepMemory) {
            memory = new byte[blocks.size()][];
            for (int b = 0; b < blocks.size(); b++) {
                memory[b] = new byte[Math.toIntExact(blocks.get(b).usedLength())];
            }
        }
    }

    @Override
    public void page(int blockIndex, long pageIndex, ByteBuf data) {
        if (data.readableBytes() != StreamFormat.PAGE_SIZE) {
            throw new AssertionError("page() got " + data.readableBytes() + " readable bytes");
        }
        data.getBytes(data.readerIndex(), scratch);
        String event = "page " + blockIndex + " " + pageIndex + " " + crc(scratch);
        events.add(event);
        pages.add(event);
        if (keepMemory) {
            System.arraycopy(scratch, 0, memory[blockIndex], Math.toIntExact(pageIndex * StreamFormat.PAGE_SIZE),
                    StreamFormat.PAGE_SIZE);
        }
    }

    @Override
    public void zeroPage(int blockIndex, long pageIndex, int fill) {
        String event = "zero " + blockIndex + " " + pageIndex + " " + fill;
        events.add(event);
        pages.add(event);
        if (keepMemory) {
            int from = Math.toIntExact(pageIndex * StreamFormat.PAGE_SIZE);
            Arrays.fill(memory[blockIndex], from, from + StreamFormat.PAGE_SIZE, (byte) fill);
        }
    }

    /** Recorded with the encoding's length and CRC; applied to the kept memory, as a destination does. */
    @Override
    public void xbzrlePage(int blockIndex, long pageIndex, ByteBuf encoding) {
        byte[] bytes = new byte[encoding.readableBytes()];
        encoding.getBytes(encoding.readerIndex(), bytes);
        String event = "xbzrle " + blockIndex + " " + pageIndex + " " + bytes.length + " " + crc(bytes);
        events.add(event);
        pages.add(event);
        if (keepMemory) {
            int from = Math.toIntExact(pageIndex * StreamFormat.PAGE_SIZE);
            ByteBuf page = Unpooled.wrappedBuffer(memory[blockIndex], from,
                    StreamFormat.PAGE_SIZE);
            Xbzrle.decode(encoding, page);
        }
    }

    @Override
    public void endOfRamSection(byte sectionType) {
        events.add("endOfRamSection " + StreamFormat.sectionTypeName(sectionType));
    }

    @Override
    public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
        byte[] bytes = new byte[payload.readableBytes()];
        payload.getBytes(payload.readerIndex(), bytes);
        deviceStates.put(idstr + "#" + instanceId, bytes);
        events.add("device " + idstr + " " + instanceId + " " + versionId + " " + bytes.length + " " + crc(bytes));
    }

    @Override
    public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
        DeviceSectionFormat format = formats.get(idstr + "#" + instanceId);
        return format != null ? format : formats.get(idstr);
    }

    @Override
    public void openReturnPath() {
        events.add("openReturnPath");
    }

    @Override
    public void ping(int value) {
        events.add("ping " + value);
    }

    @Override
    public void endOfStream() {
        events.add("endOfStream");
    }

    static String crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return String.format("%08x", crc.getValue());
    }
}
