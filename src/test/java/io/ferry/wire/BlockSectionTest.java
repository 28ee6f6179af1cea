package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * QEMU's {@code block} section (legacy block migration) written by {@link StreamEncoder} and
 * read back by {@link StreamDecoder}: whole, a byte at a time and in random chunks, the data of
 * every chunk reassembled from its slices; and each malformed record refused by name.
 */
class BlockSectionTest {

    private static final int CHUNK = StreamFormat.BLOCK_CHUNK_BYTES;
    private static final List<RamBlockInfo> RAM = List.of(new RamBlockInfo("pc.ram", 1 << 16));

    /** Records block events, reassembling each chunk's data from the slices it arrived in. */
    static final class BlockListener extends RecordingListener {
        final List<String> blockEvents = new ArrayList<>();
        final List<byte[]> chunks = new ArrayList<>();
        private ByteArrayOutputStream current;
        private long expectedOffset;

        @Override
        public void blockSectionStart() {
            blockEvents.add("start");
        }

        @Override
        public void blockChunk(String device, long byteOffset, boolean zero) {
            finishChunk();
            blockEvents.add((zero ? "zero " : "chunk ") + device + "@" + byteOffset);
            if (!zero) {
                current = new ByteArrayOutputStream();
                expectedOffset = 0;
            }
        }

        @Override
        public void blockData(long offsetInChunk, ByteBuf data) {
            assertThat(offsetInChunk).isEqualTo(expectedOffset);
            byte[] slice = new byte[data.readableBytes()];
            data.getBytes(data.readerIndex(), slice);
            current.writeBytes(slice);
            expectedOffset += slice.length;
        }

        @Override
        public void blockProgress(int percent) {
            finishChunk();
            blockEvents.add("progress " + percent);
        }

        @Override
        public void endOfBlockSection(byte sectionType) {
            finishChunk();
            blockEvents.add("eos " + StreamFormat.sectionTypeName(sectionType));
        }

        private void finishChunk() {
            if (current != null) {
                chunks.add(current.toByteArray());
                current = null;
            }
        }
    }

    private static byte[] randomChunk(long seed) {
        byte[] data = new byte[CHUNK];
        new SplittableRandom(seed).nextBytes(data);
        return data;
    }

    /** Header, ram START, block START/PART/END with two data chunks, a zero chunk and progress, device state, EOF. */
    private static byte[] stream(byte[] first, byte[] second) {
        ByteBuf out = Unpooled.buffer();
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 1, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(out, RAM);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 1);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 5, StreamFormat.BLOCK_SECTION, 0,
                StreamFormat.BLOCK_SECTION_VERSION);
        StreamEncoder.blockEos(out);
        StreamEncoder.footer(out, 5);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 5);
        StreamEncoder.blockChunkHeader(out, "disk-a", 0);
        out.writeBytes(first);
        StreamEncoder.blockZeroChunk(out, "disk-a", CHUNK);
        StreamEncoder.blockProgress(out, 50);
        StreamEncoder.blockEos(out);
        StreamEncoder.footer(out, 5);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 1);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 1);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, 5);
        StreamEncoder.blockChunkHeader(out, "disk-b", 3L * CHUNK);
        out.writeBytes(second);
        StreamEncoder.blockProgress(out, 100);
        StreamEncoder.blockEos(out);
        StreamEncoder.footer(out, 5);
        StreamEncoder.deviceState(out, 2, new byte[] {1, 2, 3});
        StreamEncoder.eof(out);
        return Feeding.drain(out);
    }

    @Test
    void blockSectionsRoundTripFedWholeByteByByteAndInRandomChunks() {
        byte[] first = randomChunk(1);
        byte[] second = randomChunk(2);
        byte[] stream = stream(first, second);
        List<String> expected = List.of("start", "eos START", "chunk disk-a@0", "zero disk-a@" + CHUNK,
                "progress 50", "eos PART", "chunk disk-b@" + 3L * CHUNK, "progress 100", "eos END");
        for (int feeding = 0; feeding < 3; feeding++) {
            BlockListener listener = new BlockListener();
            StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
            switch (feeding) {
                case 0 -> Feeding.whole(decoder, stream);
                case 1 -> Feeding.byteByByte(decoder, stream);
                default -> Feeding.randomChunks(decoder, stream, 7, 70_000);
            }
            assertThat(decoder.finished()).isTrue();
            assertThat(listener.blockEvents).as("feeding " + feeding).isEqualTo(expected);
            assertThat(listener.chunks).hasSize(2);
            assertThat(Arrays.equals(listener.chunks.get(0), first)).isTrue();
            assertThat(Arrays.equals(listener.chunks.get(1), second)).isTrue();
        }
    }

    @Test
    void aDestinationWithoutDiskSupportRefusesTheSectionBeforeAnyData() {
        byte[] stream = stream(randomChunk(3), randomChunk(4));
        RecordingListener plain = new RecordingListener();
        StreamDecoder decoder = new StreamDecoder(plain, DecoderLimits.defaults());
        assertThatThrownBy(() -> Feeding.whole(decoder, stream)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("Unknown savevm section 'block'");
    }

    private static byte[] blockPart(java.util.function.Consumer<ByteBuf> records) {
        ByteBuf out = Unpooled.buffer();
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 5, StreamFormat.BLOCK_SECTION, 0,
                StreamFormat.BLOCK_SECTION_VERSION);
        records.accept(out);
        return Feeding.drain(out);
    }

    private static void assertRefused(byte[] stream, String message) {
        Feeding.assertRefused(BlockListener::new, stream, DecoderLimits.defaults(), message);
    }

    @Test
    void malformedBlockRecordsAreRefusedByName() {
        assertRefused(blockPart(out -> out.writeLong(0x10)), "Unknown block migration flags 0x10");
        assertRefused(blockPart(out -> out.writeLong(StreamFormat.BLOCK_FLAG_ZERO_BLOCK)),
                "Unknown block migration flags 0x8");
        assertRefused(blockPart(out -> out.writeLong((101L << 9) | StreamFormat.BLOCK_FLAG_PROGRESS)),
                "block progress of 101%");
        assertRefused(blockPart(out -> out.writeLong(512 | StreamFormat.BLOCK_FLAG_EOS)), "non-zero offset");
        assertRefused(blockPart(out -> {
            out.writeLong(StreamFormat.BLOCK_FLAG_DEVICE_BLOCK);
            out.writeByte(0);
        }), "Empty block device name");
        // a second START, and a FULL section stealing the block section's id
        assertRefused(blockPart(out -> {
            StreamEncoder.blockEos(out);
            StreamEncoder.footer(out, 5);
            StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 6, StreamFormat.BLOCK_SECTION, 0,
                    StreamFormat.BLOCK_SECTION_VERSION);
        }), "Duplicate START section for 'block'");
        assertRefused(blockPart(out -> {
            StreamEncoder.blockEos(out);
            StreamEncoder.footer(out, 5);
            StreamEncoder.deviceState(out, 5, new byte[] {1});
        }), "reuses section id 5 of 'block'");
        assertRefused(blockPart(out -> {
            StreamEncoder.blockEos(out);
            StreamEncoder.footer(out, 5);
            StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, 5);
            StreamEncoder.blockEos(out);
            StreamEncoder.footer(out, 5);
            StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 5);
        }), "after its END section");
        assertRefused(blockPart(out -> {
            StreamEncoder.blockEos(out);
            StreamEncoder.footer(out, 9);
        }), "Mismatched section id in footer for block");
    }

    @Test
    void aStreamCutInsideAChunkIsTruncated() {
        byte[] whole = blockPart(out -> {
            StreamEncoder.blockChunkHeader(out, "disk-a", 0);
            out.writeBytes(randomChunk(5));
        });
        byte[] cut = Arrays.copyOf(whole, whole.length - 1000);
        StreamDecoder decoder = new StreamDecoder(new BlockListener(), DecoderLimits.defaults());
        Feeding.whole(decoder, cut);
        assertThatThrownBy(decoder::endOfInput).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("BLOCK_DATA");
    }

    @Test
    void theEncoderRefusesOffsetsThatAreNotSectors() {
        assertThatThrownBy(() -> StreamEncoder.blockChunkHeader(Unpooled.buffer(), "d", 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 512");
        assertThatThrownBy(() -> StreamEncoder.blockProgress(Unpooled.buffer(), 101))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
