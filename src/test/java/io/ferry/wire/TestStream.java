package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Builds streams, valid or deliberately broken, with the encoder where it can and raw bytes where
 * a test must say something the encoder refuses to write.
 */
final class TestStream {

    static final int RAM_ID = 2;
    static final List<RamBlockInfo> BLOCKS = List.of(
            new RamBlockInfo("pc.ram", 4L * StreamFormat.PAGE_SIZE),
            new RamBlockInfo("small", 2L * StreamFormat.PAGE_SIZE));

    private final ByteBuf out = Unpooled.buffer();
    private final RamRecordWriter writer = new RamRecordWriter();

    /** Header, RAM START with {@link #BLOCKS}, EOS, footer, and a PART header: ready for page records. */
    static TestStream inPart() {
        return new TestStream().header().ramStart(BLOCKS).part(RAM_ID);
    }

    TestStream header() {
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        return this;
    }

    TestStream ramStart(List<RamBlockInfo> blocks) {
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, RAM_ID, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(out, blocks);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, RAM_ID);
        return this;
    }

    TestStream part(int id) {
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, id);
        return this;
    }

    TestStream end(int id) {
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, id);
        return this;
    }

    TestStream page(String block, long pageIndex, int fillByte) {
        writer.pageHeader(out, block, pageIndex * StreamFormat.PAGE_SIZE);
        for (int k = 0; k < StreamFormat.PAGE_SIZE; k++) {
            out.writeByte(fillByte + k);
        }
        return this;
    }

    /** A page record with these bytes (one page of them). */
    TestStream page(String block, long pageIndex, byte[] data) {
        writer.pageHeader(out, block, pageIndex * StreamFormat.PAGE_SIZE);
        out.writeBytes(data);
        return this;
    }

    /** An XBZRLE record around {@code encoding}, with the same CONTINUE state as the other page records. */
    TestStream xbzrle(String block, long pageIndex, byte[] encoding) {
        writer.xbzrlePage(out, block, pageIndex * StreamFormat.PAGE_SIZE, Unpooled.wrappedBuffer(encoding));
        return this;
    }

    TestStream zero(String block, long pageIndex) {
        writer.zeroPage(out, block, pageIndex * StreamFormat.PAGE_SIZE);
        return this;
    }

    TestStream eos() {
        StreamEncoder.ramEos(out);
        return this;
    }

    TestStream footer(int id) {
        StreamEncoder.footer(out, id);
        return this;
    }

    TestStream closePart() {
        return eos().footer(RAM_ID);
    }

    TestStream deviceState(int id, byte[] state) {
        StreamEncoder.deviceState(out, id, state);
        return this;
    }

    TestStream eof() {
        StreamEncoder.eof(out);
        return this;
    }

    TestStream word(long word) {
        out.writeLong(word);
        return this;
    }

    TestStream counted(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.writeByte(bytes.length);
        out.writeBytes(bytes);
        return this;
    }

    TestStream u8(int value) {
        out.writeByte(value);
        return this;
    }

    TestStream be16(int value) {
        out.writeShort(value);
        return this;
    }

    TestStream be32(int value) {
        out.writeInt(value);
        return this;
    }

    TestStream be64(long value) {
        out.writeLong(value);
        return this;
    }

    TestStream bytes(byte[] value) {
        out.writeBytes(value);
        return this;
    }

    TestStream pageData(int fillByte) {
        for (int k = 0; k < StreamFormat.PAGE_SIZE; k++) {
            out.writeByte(fillByte);
        }
        return this;
    }

    TestStream fullHeader(int id, String idstr, int instance, int version) {
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_FULL, id, idstr, instance, version);
        return this;
    }

    /** The bytes; the builder's buffer is released. */
    byte[] build() {
        return Feeding.drain(out);
    }
}
