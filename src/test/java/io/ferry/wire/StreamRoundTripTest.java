package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * A whole synthetic stream written with the encoders and read back, however it is cut up: every
 * callback, in order, with every page's bytes.
 */
class StreamRoundTripTest {

    private static final int RAM_ID = 2;
    private static final int DEVICE_ID = 3;
    private static final int FIXED_ID = 4;
    private static final List<RamBlockInfo> BLOCKS = List.of(
            new RamBlockInfo("pc.ram", 32L * StreamFormat.PAGE_SIZE),
            new RamBlockInfo("vga.vram", 8L * StreamFormat.PAGE_SIZE),
            new RamBlockInfo("/rom@etc/acpi/tables", 2L * StreamFormat.PAGE_SIZE));

    /** The stream and the callbacks it must produce, built side by side. */
    private static final class Scenario {
        final List<String> expected = new ArrayList<>();
        final byte[] stream;
        final byte[] deviceState;

        Scenario() {
            Random random = new Random(42);
            ByteBuf out = Unpooled.buffer();
            RamRecordWriter writer = new RamRecordWriter();
            deviceState = new byte[300];
            random.nextBytes(deviceState);
            byte[] fixedDevice = new byte[10];
            random.nextBytes(fixedDevice);

            StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
            expected.add("configuration " + StreamFormat.MACHINE_TYPE);
            StreamEncoder.openReturnPath(out);
            expected.add("openReturnPath");
            StreamEncoder.ping(out, 1);
            expected.add("ping 1");

            StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, RAM_ID, StreamFormat.RAM_SECTION, 0,
                    StreamFormat.RAM_SECTION_VERSION);
            StreamEncoder.ramBlockList(out, BLOCKS);
            expected.add("ramBlocks " + BLOCKS);
            StreamEncoder.ramEos(out);
            StreamEncoder.footer(out, RAM_ID);
            expected.add("endOfRamSection START");

            // PART 1: pages and zero pages across all blocks, with and without CONTINUE
            StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, RAM_ID);
            page(out, writer, random, 0, 0);
            page(out, writer, random, 0, 1);       // CONTINUE
            zero(out, writer, 0, 2);               // CONTINUE
            page(out, writer, random, 1, 0);       // named: vga.vram
            zero(out, writer, 1, 7);
            page(out, writer, random, 2, 1);       // named: last page of the last block
            page(out, writer, random, 0, 31);      // back to pc.ram: named again
            StreamEncoder.ramEos(out);
            StreamEncoder.footer(out, RAM_ID);
            expected.add("endOfRamSection PART");

            // PART 2: CONTINUE carries over the section boundary, as on a QEMU channel
            StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, RAM_ID);
            for (int p = 3; p < 20; p++) {
                if (p % 3 == 0) {
                    zero(out, writer, 0, p);
                } else {
                    page(out, writer, random, 0, p);
                }
            }
            StreamEncoder.ramEos(out);
            StreamEncoder.footer(out, RAM_ID);
            expected.add("endOfRamSection PART");

            // END: the last dirty pages
            StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, RAM_ID);
            page(out, writer, random, 1, 3);
            page(out, writer, random, 0, 0);      // a page sent again overwrites it
            zero(out, writer, 2, 0);
            StreamEncoder.ramEos(out);
            StreamEncoder.footer(out, RAM_ID);
            expected.add("endOfRamSection END");

            StreamEncoder.deviceState(out, DEVICE_ID, deviceState);
            expected.add("device " + StreamFormat.DEVICE_STATE_SECTION + " 0 1 300 " + RecordingListener.crc(deviceState));

            StreamEncoder.sectionStart(out, StreamFormat.SECTION_FULL, FIXED_ID, "test/fixed", 1, 3);
            out.writeBytes(fixedDevice);
            StreamEncoder.footer(out, FIXED_ID);
            expected.add("device test/fixed 1 3 10 " + RecordingListener.crc(fixedDevice));

            StreamEncoder.eof(out);
            expected.add("endOfStream");
            stream = Feeding.drain(out);
        }

        private void page(ByteBuf out, RamRecordWriter writer, Random random, int block, long pageIndex) {
            byte[] data = new byte[StreamFormat.PAGE_SIZE];
            random.nextBytes(data);
            writer.pageHeader(out, BLOCKS.get(block).idstr(), pageIndex * StreamFormat.PAGE_SIZE);
            out.writeBytes(data);
            expected.add("page " + block + " " + pageIndex + " " + RecordingListener.crc(data));
        }

        private void zero(ByteBuf out, RamRecordWriter writer, int block, long pageIndex) {
            writer.zeroPage(out, BLOCKS.get(block).idstr(), pageIndex * StreamFormat.PAGE_SIZE);
            expected.add("zero " + block + " " + pageIndex + " 0");
        }
    }

    private static final Scenario SCENARIO = new Scenario();

    private static RecordingListener listener() {
        RecordingListener listener = new RecordingListener(true);
        listener.formats.put("test/fixed", DeviceSectionFormat.fixed(10));
        return listener;
    }

    private static void assertDecodedWhole(StreamDecoder decoder, RecordingListener listener, int unread) {
        assertThat(unread).isZero();
        assertThat(listener.events).containsExactlyElementsOf(SCENARIO.expected);
        assertThat(decoder.finished()).isTrue();
        assertThat(decoder.position()).isEqualTo(SCENARIO.stream.length);
        assertThat(listener.deviceStates.get(StreamFormat.DEVICE_STATE_SECTION + "#0")).isEqualTo(SCENARIO.deviceState);
    }

    @Test
    void wholeStreamAtOnce() {
        RecordingListener listener = listener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        int unread = Feeding.whole(decoder, SCENARIO.stream);

        assertDecodedWhole(decoder, listener, unread);
    }

    @Test
    void oneByteAtATime() {
        RecordingListener listener = listener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        int unread = Feeding.byteByByte(decoder, SCENARIO.stream);

        assertDecodedWhole(decoder, listener, unread);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void randomChunkSizes(long seed) {
        RecordingListener listener = listener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        int unread = Feeding.randomChunks(decoder, SCENARIO.stream, seed, seed % 2 == 0 ? 17 : 9000);

        assertDecodedWhole(decoder, listener, unread);
    }

    @Test
    void decodedMemoryHoldsTheLastCopyOfEveryPage() {
        RecordingListener listener = listener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        Feeding.randomChunks(decoder, SCENARIO.stream, 99, 5000);

        // vga.vram page 7 was sent as a zero page; page 3 as data in END.
        byte[] vram = listener.memory[1];
        for (int k = 7 * StreamFormat.PAGE_SIZE; k < 8 * StreamFormat.PAGE_SIZE; k++) {
            assertThat(vram[k]).isZero();
        }
        assertThat(listener.events).filteredOn(e -> e.startsWith("page 1 3 ")).hasSize(1);
        assertThat(listener.events).filteredOn(e -> e.startsWith("page 0 0 ")).hasSize(2);
    }

    /** The way the engine will mount it: a ByteToMessageDecoder in a channel pipeline. */
    private static final class StreamDecoderHandler extends ByteToMessageDecoder {
        private final StreamDecoder decoder;

        StreamDecoderHandler(StreamDecoder decoder) {
            this.decoder = decoder;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            decoder.feed(in);
        }
    }

    @Test
    void oneByteAtATimeThroughAChannelPipeline() {
        RecordingListener listener = listener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        EmbeddedChannel channel = new EmbeddedChannel(new StreamDecoderHandler(decoder));

        for (byte b : SCENARIO.stream) {
            ByteBuf one = channel.alloc().buffer(1).writeByte(b);
            channel.writeInbound(one);
        }

        assertThat(channel.finish()).isFalse();
        assertThat(listener.events).containsExactlyElementsOf(SCENARIO.expected);
        assertThat(decoder.finished()).isTrue();
    }
}
