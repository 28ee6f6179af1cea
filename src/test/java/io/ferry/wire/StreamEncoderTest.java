package io.ferry.wire;

import static io.ferry.wire.Feeding.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The encoders against bytes written out by hand from the layouts in StreamFormat and RamFlag. */
class StreamEncoderTest {

    private static byte[] write(Consumer<ByteBuf> writer) {
        ByteBuf out = Unpooled.directBuffer();
        try {
            writer.accept(out);
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        return Feeding.drain(out);
    }

    @Test
    void headerIsMagicVersionAndConfiguration() {
        assertThat(write(out -> StreamEncoder.header(out, StreamFormat.MACHINE_TYPE))).isEqualTo(hex("""
                5145564d 00000003
                07 0000000f 66657272792d73796e746865746963
                """));
    }

    @Test
    void sectionStartAndFull() {
        assertThat(write(out -> StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 2, "ram", 0, 4)))
                .isEqualTo(hex("01 00000002 03 72616d 00000000 00000004"));
        assertThat(write(out -> StreamEncoder.sectionStart(out, StreamFormat.SECTION_FULL, 0x01020304, "timer", 1, 2)))
                .isEqualTo(hex("04 01020304 05 74696d6572 00000001 00000002"));
    }

    @Test
    void sectionPartEndFooterAndEof() {
        assertThat(write(out -> StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 2))).isEqualTo(hex("02 00000002"));
        assertThat(write(out -> StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, 2))).isEqualTo(hex("03 00000002"));
        assertThat(write(out -> StreamEncoder.footer(out, 2))).isEqualTo(hex("7e 00000002"));
        assertThat(write(StreamEncoder::eof)).isEqualTo(hex("00"));
    }

    @Test
    void ramBlockListAndEos() {
        List<RamBlockInfo> blocks = List.of(new RamBlockInfo("pc.ram", 64L << 20), new RamBlockInfo("small", 0x2000));
        assertThat(write(out -> StreamEncoder.ramBlockList(out, blocks))).isEqualTo(hex("""
                0000000004002004
                06 70632e72616d 0000000004000000
                05 736d616c6c   0000000000002000
                """));
        assertThat(write(StreamEncoder::ramEos)).isEqualTo(hex("0000000000000010"));
    }

    @Test
    void deviceStateIsACompleteFerrySection() {
        assertThat(write(out -> StreamEncoder.deviceState(out, 3, new byte[] {(byte) 0xaa, (byte) 0xbb, (byte) 0xcc})))
                .isEqualTo(hex("""
                        04 00000003 12 66657272792f6465766963652d7374617465 00000000 00000001
                        00000003 aabbcc
                        7e 00000003
                        """));
    }

    @Test
    void commands() {
        assertThat(write(StreamEncoder::openReturnPath)).isEqualTo(hex("08 0001 0000"));
        assertThat(write(out -> StreamEncoder.ping(out, 1))).isEqualTo(hex("08 0002 0004 00000001"));
    }

    @Test
    void pageHeaderNamesABlockOnceThenContinues() {
        RamRecordWriter writer = new RamRecordWriter();
        assertThat(writer.headerSize("pc.ram")).isEqualTo(8 + 1 + 6);
        assertThat(write(out -> writer.pageHeader(out, "pc.ram", 0x2000))).isEqualTo(hex("0000000000002008 06 70632e72616d"));
        assertThat(writer.headerSize("pc.ram")).isEqualTo(8);
        assertThat(write(out -> writer.pageHeader(out, "pc.ram", 0x3000))).isEqualTo(hex("0000000000003028"));
        assertThat(write(out -> writer.zeroPage(out, "pc.ram", 0x4000))).isEqualTo(hex("0000000000004022 00"));
        assertThat(writer.headerSize("small")).isEqualTo(8 + 1 + 5);
        assertThat(write(out -> writer.pageHeader(out, "small", 0))).isEqualTo(hex("0000000000000008 05 736d616c6c"));
        assertThat(write(out -> writer.pageHeader(out, "pc.ram", 0x10_0000_0000L)))
                .isEqualTo(hex("0000001000000008 06 70632e72616d"));
    }

    @Test
    void resetNamesTheBlockAgain() {
        RamRecordWriter writer = new RamRecordWriter();
        write(out -> writer.pageHeader(out, "small", 0));
        writer.reset();
        assertThat(writer.headerSize("small")).isEqualTo(14);
        assertThat(write(out -> writer.pageHeader(out, "small", 0x1000))).isEqualTo(hex("0000000000001008 05 736d616c6c"));
    }

    @Test
    void zeroRecordsAreQemusBytes() throws Exception {
        // pc-64M-mostlyzero.qemu at 0xc5: the first two records of the first PART section
        RamRecordWriter writer = new RamRecordWriter();
        assertThat(write(out -> {
            writer.zeroPage(out, "pc.ram", 0);
            writer.zeroPage(out, "pc.ram", 0x1000);
        })).isEqualTo(hex("0000000000000002 06 70632e72616d 00  0000000000001022 00"));
    }

    @Test
    void encodersRefuseWhatTheFormatCannotSay() {
        RamRecordWriter writer = new RamRecordWriter();
        assertThatThrownBy(() -> write(out -> writer.pageHeader(out, "pc.ram", 0x2001)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x2001");
        assertThatThrownBy(() -> write(out -> writer.zeroPage(out, "pc.ram", -4096)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> write(out -> writer.pageHeader(out, "x".repeat(256), 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..255");
        assertThatThrownBy(() -> write(out -> StreamEncoder.sectionStart(out, StreamFormat.SECTION_PART, 1, "ram", 0, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not PART");
        assertThatThrownBy(() -> write(out -> StreamEncoder.sectionPart(out, StreamFormat.SECTION_FULL, 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not FULL");
        assertThatThrownBy(() -> write(out -> StreamEncoder.header(out, "")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RamBlockInfo("pc.ram", 4095)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RamBlockInfo("", 4096)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void ramFlagCodesAreQemusAndLookedUpStrictly() {
        assertThat(RamFlag.values()).extracting(RamFlag::code)
                .containsExactly(0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200);
        for (RamFlag flag : RamFlag.values()) {
            assertThat(RamFlag.valueOf(flag.code())).isSameAs(flag);
            assertThat(flag.code() & ~RamFlag.FLAG_BITS).isZero();
        }
        assertThat(RamFlag.values()).filteredOn(RamFlag::reserved)
                .containsExactly(RamFlag.FULL, RamFlag.HOOK, RamFlag.COMPRESS_PAGE);
        for (int unknown : new int[] {0, 0x03, 0x400, 0x800, 0x1000, -1}) {
            assertThatThrownBy(() -> RamFlag.valueOf(unknown)).isInstanceOf(StreamFormatException.class)
                    .hasMessageStartingWith("Unknown RAM flag");
        }
        assertThat(RamFlag.CONTINUE.isSet(0x28)).isTrue();
        assertThat(RamFlag.ZERO.isSet(0x28)).isFalse();
    }
}
