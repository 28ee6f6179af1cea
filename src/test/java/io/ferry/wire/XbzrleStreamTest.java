package io.ferry.wire;

import static io.ferry.wire.StreamFormat.PAGE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * XBZRLE records in a migration stream ({@link RamRecordDecoder}): pages sent whole, then re-sent as
 * QEMU's {@code save_xbzrle_page} would (encodings from {@link Xbzrle#encode}, which matches QEMU's
 * encoder byte for byte, see {@link XbzrleCodecTest}), read whole, a byte at a time and in random
 * chunks into the same memory; then broken records, each refused by its {@link XbzrleError} before
 * the listener hears of it.
 */
class XbzrleStreamTest {

    private static final DecoderLimits LIMITS = DecoderLimits.defaults();

    private static byte[] random(long seed) {
        byte[] page = new byte[PAGE_SIZE];
        new Random(seed).nextBytes(page);
        return page;
    }

    private static byte[] encode(byte[] oldPage, byte[] newPage) {
        ByteBuf out = Unpooled.buffer(PAGE_SIZE);
        int length = Xbzrle.encode(Unpooled.wrappedBuffer(oldPage), Unpooled.wrappedBuffer(newPage), out, PAGE_SIZE);
        assertThat(length).as("an encoding that fits the page").isPositive();
        return Feeding.drain(out);
    }

    private static byte[] changedAt(byte[] page, int... offsets) {
        byte[] changed = page.clone();
        for (int offset : offsets) {
            changed[offset] ^= 0x5A;
        }
        return changed;
    }

    /** What the stream of {@link #resentPages} leaves in each page of pc.ram (4 pages) and small (2). */
    private record Expected(byte[] stream, byte[][][] memory, int xbzrleRecords) {
    }

    /**
     * A bulk round of PAGE records (and a ZERO), then a round of re-sent pages: XBZRLE records with
     * CONTINUE and naming their block, one against the zero page, one whose encoding is exactly a
     * page long (QEMU's largest), one that changes a page at its last byte.
     */
    private static Expected resentPages() {
        byte[][] pcRam = {random(1), random(2), random(3), new byte[PAGE_SIZE]};
        byte[][] small = {random(4), random(5)};
        TestStream stream = TestStream.inPart();
        for (int p = 0; p < 3; p++) {
            stream.page("pc.ram", p, pcRam[p]);
        }
        stream.zero("pc.ram", 3).page("small", 0, small[0]).page("small", 1, small[1]).closePart();

        List<byte[][]> updates = new ArrayList<>();
        stream.part(TestStream.RAM_ID);
        byte[] p0 = changedAt(pcRam[0], 0, 1, 2, 100, 101, 4095);
        byte[] p1 = pcRam[1].clone();
        for (int i = 3; i < PAGE_SIZE; i++) {
            p1[i] ^= (byte) 0xFF;                              // all but 3 bytes: 03 fd 1f + 4093 bytes = 4096
        }
        byte[] p3 = changedAt(pcRam[3], 2048);                  // against the zero page
        byte[] s1 = changedAt(small[1], 4095);
        byte[] encodedP1 = encode(pcRam[1], p1);
        assertThat(encodedP1).hasSize(PAGE_SIZE);
        stream.xbzrle("pc.ram", 0, encode(pcRam[0], p0))
                .xbzrle("pc.ram", 1, encodedP1)                 // CONTINUE
                .xbzrle("pc.ram", 3, encode(pcRam[3], p3))
                .xbzrle("small", 1, encode(small[1], s1))       // names its block
                .page("small", 0, random(6))                    // a plain page between them
                .xbzrle("pc.ram", 0, encode(p0, changedAt(p0, 7)))   // a page encoded twice, against its last copy
                .closePart().eof();
        pcRam[0] = changedAt(p0, 7);
        pcRam[1] = p1;
        pcRam[3] = p3;
        small[0] = random(6);
        small[1] = s1;
        return new Expected(stream.build(), new byte[][][] {pcRam, small}, 5);
    }

    private static byte[] concat(byte[][] pages) {
        byte[] all = new byte[pages.length * PAGE_SIZE];
        for (int p = 0; p < pages.length; p++) {
            System.arraycopy(pages[p], 0, all, p * PAGE_SIZE, PAGE_SIZE);
        }
        return all;
    }

    private static RecordingListener read(byte[] stream, String how) {
        RecordingListener listener = new RecordingListener(true);
        StreamDecoder decoder = new StreamDecoder(listener, LIMITS);
        int left = switch (how) {
            case "whole" -> Feeding.whole(decoder, stream);
            case "byte by byte" -> Feeding.byteByByte(decoder, stream);
            default -> Feeding.randomChunks(decoder, stream, Long.parseLong(how.substring("chunks ".length())), 9000);
        };
        assertThat(left).as("bytes left unread").isZero();
        return listener;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"whole", "byte by byte", "chunks 1", "chunks 2", "chunks 3", "chunks 4"})
    void resentPagesArriveByteExact(String how) {
        Expected expected = resentPages();
        RecordingListener listener = read(expected.stream(), how);
        assertThat(listener.memory[0]).isEqualTo(concat(expected.memory()[0]));
        assertThat(listener.memory[1]).isEqualTo(concat(expected.memory()[1]));
        assertThat(listener.pages.stream().filter(e -> e.startsWith("xbzrle"))).hasSize(expected.xbzrleRecords());
        assertThat(listener.pages).anyMatch(e -> e.startsWith("xbzrle 0 1 " + PAGE_SIZE + " "));
        assertThat(listener.events).endsWith("endOfStream");
        // the same conversation however the bytes arrived
        assertThat(listener.events).isEqualTo(read(expected.stream(), "whole").events);
    }

    // ------------------------------------------------------------------ refusals

    /** One record after a good page 0 of pc.ram: the word and idstr of page 1, then {@code body}. */
    private static byte[] withBody(byte[] body) {
        return TestStream.inPart().page("pc.ram", 0, 1)
                .word(PAGE_SIZE | RamFlag.XBZRLE.code() | RamFlag.CONTINUE.code()).bytes(body).build();
    }

    private static byte[] body(String encodingHex) {
        byte[] encoding = Feeding.hex(encodingHex);
        ByteBuf out = Unpooled.buffer();
        out.writeByte(XbzrleRecord.ENCODING_FLAG_XBZRLE).writeShort(encoding.length).writeBytes(encoding);
        return Feeding.drain(out);
    }

    private static byte[] runPastThePage() {
        // zero run of 4096 (80 20), then a data run of 1: the page ends before it
        return body("80 20 01 aa");
    }

    static Stream<Arguments> broken() {
        byte[] overLong = new byte[3 + PAGE_SIZE + 1];
        overLong[0] = 1;
        overLong[1] = 0x10;
        overLong[2] = 0x01;
        return Stream.of(
                Arguments.of("encoding byte 0", Feeding.hex("00 00 04 04 02 44 55"), XbzrleError.WRONG_ENCODING),
                Arguments.of("encoding byte 2 (a later QEMU encoding)", Feeding.hex("02 00 04 04 02 44 55"),
                        XbzrleError.WRONG_ENCODING),
                Arguments.of("encoded length 0", Feeding.hex("01 00 00"), XbzrleError.ENCODED_LENGTH_ZERO),
                Arguments.of("encoded length of a page and a byte", overLong, XbzrleError.ENCODED_LENGTH_OVER_PAGE),
                Arguments.of("a run past the page", runPastThePage(), XbzrleError.RUN_PAST_PAGE),
                Arguments.of("a data run past the page", body("ff 1f 02 aa bb"), XbzrleError.RUN_PAST_PAGE),
                Arguments.of("a truncated run length", body("04"), XbzrleError.TRUNCATED_LENGTH),
                Arguments.of("a length of three uleb128 bytes", body("80 80 01 01 aa"), XbzrleError.LENGTH_OVERFLOW),
                Arguments.of("an empty data run", body("04 00 11"), XbzrleError.EMPTY_RUN),
                Arguments.of("a data run longer than the encoding", body("04 03 aa bb"), XbzrleError.TRUNCATED_DATA));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("broken")
    void brokenXbzrleRecordsAreRefusedByNameAndNeverApplied(String name, byte[] body, XbzrleError error) {
        byte[] stream = withBody(body);
        List<RecordingListener> listeners = Feeding.assertRefused(() -> new RecordingListener(true), stream, LIMITS,
                error.name() + ": " + error.description());
        for (RecordingListener listener : listeners) {
            assertThat(listener.pages).as("only the good page was reported").hasSize(1);
            assertThat(Arrays.copyOfRange(listener.memory[0], PAGE_SIZE, 2 * PAGE_SIZE)).containsOnly((byte) 0);
        }
        assertThatThrownBy(() -> Feeding.whole(new StreamDecoder(new RecordingListener(true), LIMITS), stream))
                .isInstanceOfSatisfying(XbzrleFormatException.class, e -> assertThat(e.error()).isEqualTo(error))
                .hasMessageContaining("XBZRLE page at 0x1000 of RAM block 'pc.ram', stream offset");
    }

    @Test
    void aBadHeaderIsRefusedAsSoonAsItsByteArrives() {
        // the encoding byte, then the length: neither waits for the 4097 bytes announced
        for (String body : List.of("00", "01 10 01")) {
            byte[] stream = withBody(Feeding.hex(body));
            StreamDecoder decoder = new StreamDecoder(new RecordingListener(), LIMITS);
            ByteBuf cumulation = Unpooled.buffer();
            cumulation.writeBytes(stream, 0, stream.length - 1);
            decoder.feed(cumulation);
            assertThat(decoder.failed()).isFalse();
            cumulation.writeByte(stream[stream.length - 1]);
            assertThatThrownBy(() -> decoder.feed(cumulation)).isInstanceOf(XbzrleFormatException.class);
            cumulation.release();
        }
    }

    @Test
    void anXbzrleRecordOutsideItsBlockOrBeforeAnyBlockIsRefused() {
        byte[] outside = TestStream.inPart().word(4L * PAGE_SIZE | RamFlag.XBZRLE.code()).counted("pc.ram")
                .bytes(body("04 01 aa")).build();
        Feeding.assertRefused(RecordingListener::new, outside, LIMITS, "Illegal RAM offset 0x4000 in block 'pc.ram'");
        byte[] noBlock = TestStream.inPart().word(RamFlag.XBZRLE.code() | RamFlag.CONTINUE.code())
                .bytes(body("04 01 aa")).build();
        Feeding.assertRefused(RecordingListener::new, noBlock, LIMITS, "CONTINUE before any block was named");
    }

    @Test
    void aDestinationThatTakesNoXbzrleRefusesIt() {
        byte[] stream = TestStream.inPart().xbzrle("pc.ram", 0, Feeding.hex("04 01 aa")).build();
        StreamListener plain = new StreamListener() {
            @Override
            public void ramBlocks(List<RamBlockInfo> blocks) {
            }

            @Override
            public void page(int blockIndex, long pageIndex, ByteBuf data) {
            }

            @Override
            public void zeroPage(int blockIndex, long pageIndex, int fill) {
            }

            @Override
            public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
            }

            @Override
            public void endOfStream() {
            }
        };
        assertThatThrownBy(() -> Feeding.whole(new StreamDecoder(plain, LIMITS), stream))
                .isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("XBZRLE pages are not accepted by this destination");
    }

    @Test
    void thePreemptChannelCarriesNoXbzrle() {
        // QEMU's post-copy load has no XBZRLE: the destination's copies are gone
        ByteBuf stream = Unpooled.buffer();
        new RamRecordWriter().xbzrlePage(stream, "pc.ram", 0, Unpooled.wrappedBuffer(Feeding.hex("04 01 aa")));
        StreamDecoder preempt = StreamDecoder.forPreemptChannel(new RecordingListener(), LIMITS, TestStream.BLOCKS);
        assertThatThrownBy(() -> preempt.feed(stream))
                .isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("preempt channel carries only ZERO and PAGE records");
        stream.release();
    }

    @Test
    void theWriterRefusesWhatQemuNeverSends() {
        RamRecordWriter writer = new RamRecordWriter();
        ByteBuf out = Unpooled.buffer();
        assertThatThrownBy(() -> writer.xbzrlePage(out, "pc.ram", 0, Unpooled.EMPTY_BUFFER))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> writer.xbzrlePage(out, "pc.ram", 0, Unpooled.wrappedBuffer(new byte[PAGE_SIZE + 1])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(out.writerIndex()).isZero();
        writer.xbzrlePage(out, "pc.ram", PAGE_SIZE, Unpooled.wrappedBuffer(Feeding.hex("04 01 aa")));
        // | offset 0x1000 with XBZRLE | 06 pc.ram | 01 | 00 03 | 04 01 aa |
        assertThat(Feeding.drain(out)).containsExactly(Feeding.hex(
                "00 00 00 00 00 00 10 40  06 70 63 2e 72 61 6d  01  00 03  04 01 aa"));
    }
}
