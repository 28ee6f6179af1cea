package io.ferry.wire;

import static io.ferry.wire.MultifdFormat.PAGE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.migration.compression.PageCompression;
import io.ferry.migration.compression.PageCompressor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compressed multifd packets (zstd as QEMU's, lz4 as Ferry's) written with the encoder and the
 * real compressors, read back whole, byte by byte and in random chunks into memory compared byte
 * for byte; then each refusal by name, with none of the refused packet's pages placed.
 */
class MultifdCompressionCodecTest {

    private static final List<RamBlockInfo> BLOCKS = List.of(
            new RamBlockInfo("pc.ram", 300L * PAGE_SIZE),
            new RamBlockInfo("vga.vram", 16L * PAGE_SIZE));
    private static final int ALLOC = MultifdFormat.PAGES_PER_PACKET;
    private static final byte GARBAGE = (byte) 0xAA;

    // ------------------------------------------------------------------ the flag

    @ParameterizedTest
    @EnumSource(MultifdCompression.class)
    void flagRoundTripsAloneAndBesideSync(MultifdCompression method) {
        assertThat(MultifdCompression.fromFlags(method.flag())).isEqualTo(method);
        assertThat(MultifdCompression.fromFlags(method.flag() | MultifdFormat.FLAG_SYNC)).isEqualTo(method);
    }

    @Test
    void flagValuesAreQemusForZstdAndFerrysOwnBitForLz4() {
        assertThat(MultifdCompression.NONE.flag()).isZero();
        assertThat(MultifdCompression.ZSTD.flag()).isEqualTo(0x04);   // MULTIFD_FLAG_ZSTD (2 << 1)
        assertThat(MultifdCompression.LZ4.flag()).isEqualTo(0x10000);
        assertThat(MultifdCompression.LZ4.flag() & (MultifdFormat.FLAG_COMPRESSION_MASK
                | MultifdFormat.FLAG_DEVICE_STATE | MultifdFormat.FLAG_SYNC)).as("clear of QEMU's bits").isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {1 << 1 /* zlib */, 4 << 1 /* qpl */, 8 << 1 /* uadk */, 16 << 1 /* qatzip */,
            3 << 1 /* zlib|zstd */, (2 << 1) | (1 << 16) /* zstd and lz4 */, 0x40 /* device state */,
            0x80 /* unknown */, 1 << 17 /* unknown, beside Ferry's */})
    void unknownOrCombinedFlagsAreRefused(int flags) {
        assertThatThrownBy(() -> MultifdCompression.fromFlags(flags))
                .isInstanceOfSatisfying(MultifdFormatException.class,
                        e -> assertThat(e.error()).isEqualTo(MultifdError.UNSUPPORTED_FLAGS));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, PAGE_SIZE, 17 * PAGE_SIZE, 32 * PAGE_SIZE, ALLOC * PAGE_SIZE,
            MultifdLimits.MAX_PAGES_ALLOC * PAGE_SIZE})
    void boundsAreTheLibrariesWorstCases(int size) {
        assertThat(MultifdCompression.NONE.maxCompressedSize(size)).isEqualTo(size);
        assertThat(MultifdCompression.ZSTD.maxCompressedSize(size)).isEqualTo(Zstd.compressBound(size));
        assertThat(MultifdCompression.LZ4.maxCompressedSize(size))
                .isEqualTo(LZ4Factory.fastestInstance().fastCompressor().maxCompressedLength(size));
    }

    // ------------------------------------------------------------------ fixtures

    private static PageCompressor compressor(MultifdCompression method, int level) {
        CompressionMethod settings = method == MultifdCompression.ZSTD ? CompressionMethod.ZSTD : CompressionMethod.LZ4;
        return PageCompression.compressor(new ConvergenceSettings.Compression(settings, level));
    }

    private static PageDecompressor decompressor(MultifdCompression method) {
        return PageCompression.decompressor(method == MultifdCompression.ZSTD ? CompressionMethod.ZSTD
                : CompressionMethod.LZ4);
    }

    private static byte[][] freshMemory() {
        byte[][] memory = new byte[BLOCKS.size()][];
        for (int b = 0; b < memory.length; b++) {
            memory[b] = new byte[(int) BLOCKS.get(b).usedLength()];
            Arrays.fill(memory[b], GARBAGE);
        }
        return memory;
    }

    private static long[] offsets(long... pages) {
        return LongStream.of(pages).map(p -> p * PAGE_SIZE).toArray();
    }

    private static long[] range(int from, int to) {
        return LongStream.range(from, to).toArray();
    }

    /** Text-like page content: compressible, and different per page. */
    private static byte[] textPage(Random random) {
        String[] words = {"migration ", "page ", "dirty ", "guest ", "channel ", "zstd ", "lz4 ", "0x", "\n"};
        StringBuilder text = new StringBuilder(PAGE_SIZE);
        while (text.length() < PAGE_SIZE) {
            text.append(words[random.nextInt(words.length)]).append(random.nextInt(1000));
        }
        return Arrays.copyOf(text.toString().getBytes(StandardCharsets.US_ASCII), PAGE_SIZE);
    }

    /** A compressed channel's bytes, and the memory they must leave. */
    private static final class Channel {
        final ByteBuf out = Unpooled.buffer();
        final byte[][] memory = freshMemory();
        final Random random;
        final PageCompressor compressor;
        long packetNum = 1;
        int compressedBytes;

        Channel(PageCompressor compressor, long seed) {
            this.compressor = compressor;
            this.random = new Random(seed);
        }

        /** A packet whose pages are text, but every {@code randomEvery}-th random (incompressible). */
        Channel packet(int block, long[] normalPages, long[] zeroPages, int randomEvery) {
            ByteBuffer plain = ByteBuffer.allocateDirect(Math.max(1, normalPages.length * PAGE_SIZE));
            for (int k = 0; k < normalPages.length; k++) {
                byte[] data = textPage(random);
                if (randomEvery > 0 && k % randomEvery == 0) {
                    random.nextBytes(data);
                }
                plain.put(data);
                System.arraycopy(data, 0, memory[block], (int) (normalPages[k] * PAGE_SIZE), PAGE_SIZE);
            }
            for (long p : zeroPages) {
                Arrays.fill(memory[block], (int) (p * PAGE_SIZE), (int) ((p + 1) * PAGE_SIZE), (byte) 0);
            }
            plain.flip();
            int headerAt = out.writerIndex();
            long[] normal = offsets(normalPages);
            long[] zero = offsets(zeroPages);
            MultifdEncoder.packetHeader(out, 0, ALLOC, BLOCKS.get(block).idstr().getBytes(StandardCharsets.UTF_8),
                    packetNum++, normal, normal.length, zero, zero.length);
            int size = 0;
            if (normalPages.length > 0) {
                ByteBuffer packed = ByteBuffer.allocateDirect(compressor.method().maxCompressedSize(plain.remaining()));
                size = compressor.compress(plain, packed);
                packed.limit(size);
                out.writeBytes(packed);
            }
            MultifdEncoder.compressedPayload(out, headerAt, compressor.method(), size);
            compressedBytes += size;
            return this;
        }

        Channel sync() {
            MultifdEncoder.sync(out, packetNum++, ALLOC);
            return this;
        }

        byte[] bytes() {
            return Feeding.drain(out.retainedDuplicate());
        }
    }

    /** Two rounds: a full packet, scattered pages, a zero-only packet, incompressible pages, syncs. */
    private static Channel scenario(PageCompressor compressor) {
        return new Channel(compressor, 42)
                .packet(0, range(0, 100), range(100, 128), 0)
                .packet(1, new long[] {3, 0, 15}, new long[] {7}, 2)
                .sync()
                .packet(0, new long[] {290, 5, 159, 160}, new long[0], 0)
                .packet(0, new long[0], new long[] {0, 1}, 0)
                .packet(0, range(128, 256), new long[0], 8)
                .sync();
    }

    /** Places what it is told into its memory; counts pages and fragments. */
    private static final class Placing implements MultifdListener {
        final byte[][] memory = freshMemory();
        final List<String> events = new ArrayList<>();

        @Override
        public void packet(int blockIndex, MultifdPacket header) {
            events.add("packet " + header.packetNum());
            for (long offset : header.zeroOffsets()) {
                Arrays.fill(memory[blockIndex], (int) offset, (int) offset + PAGE_SIZE, (byte) 0);
            }
        }

        @Override
        public void pageData(int blockIndex, long pageIndex, int offsetInPage, ByteBuf data) {
            assertThat(data.readableBytes()).as("a decompressed page comes whole").isEqualTo(PAGE_SIZE);
            data.readBytes(memory[blockIndex], (int) (pageIndex * PAGE_SIZE) + offsetInPage, data.readableBytes());
        }

        @Override
        public void pageComplete(int blockIndex, long pageIndex) {
            events.add("page " + blockIndex + "/" + pageIndex);
        }

        @Override
        public void sync(long packetNum) {
            events.add("sync " + packetNum);
        }
    }

    private static int feed(MultifdDecoder decoder, byte[] stream, IntSupplier chunk) {
        Consumer<ByteBuf> feeding = in -> {
            while (decoder.feed(in) == MultifdDecoder.Result.SYNC) {
                // nothing holds the channel here
            }
        };
        return Feeding.feed(feeding, stream, chunk);
    }

    private static void assertMemory(byte[][] actual, byte[][] expected) {
        for (int b = 0; b < expected.length; b++) {
            assertThat(Arrays.mismatch(actual[b], expected[b])).as("first wrong byte of block %d", b).isEqualTo(-1);
        }
    }

    static Stream<Arguments> methodsAndLevels() {
        return Stream.of(Arguments.of(MultifdCompression.ZSTD, 1), Arguments.of(MultifdCompression.ZSTD, 9),
                Arguments.of(MultifdCompression.LZ4, 1), Arguments.of(MultifdCompression.LZ4, 9));
    }

    // ------------------------------------------------------------------ round trips

    @ParameterizedTest(name = "{0} level {1}")
    @MethodSource("methodsAndLevels")
    void compressedChannelRoundTripsWholeByteByByteAndInRandomChunks(MultifdCompression method, int level) {
        try (PageCompressor compressor = compressor(method, level);
             PageDecompressor decompressor = decompressor(method)) {
            Channel channel = scenario(compressor);
            byte[] stream = channel.bytes();
            int plainPages = 100 + 3 + 4 + 128;
            assertThat(channel.compressedBytes).as("text compresses").isLessThan(plainPages * PAGE_SIZE * 3 / 4);

            Random random = new Random(level);
            List<IntSupplier> chunkings = List.of(() -> stream.length, () -> 1, () -> 1 + random.nextInt(5000),
                    () -> 1 + random.nextInt(70_000));
            List<String> firstEvents = null;
            for (IntSupplier chunking : chunkings) {
                Placing placing = new Placing();
                MultifdDecoder decoder = MultifdDecoder.compressed(placing, MultifdLimits.defaults(), BLOCKS,
                        decompressor);
                assertThat(feed(decoder, stream, chunking)).isZero();
                assertMemory(placing.memory, channel.memory);
                assertThat(decoder.position()).isEqualTo(stream.length);
                assertThat(placing.events).filteredOn(e -> e.startsWith("page ")).hasSize(plainPages);
                if (firstEvents != null) {
                    assertThat(placing.events).isEqualTo(firstEvents);
                }
                firstEvents = placing.events;
            }
        }
    }

    @Test
    void compressedChannelNeverOffersDirectPlacementAndSaysHowManyPayloadBytesItWants() {
        try (PageCompressor compressor = compressor(MultifdCompression.LZ4, 1);
             PageDecompressor decompressor = decompressor(MultifdCompression.LZ4)) {
            Channel channel = new Channel(compressor, 1).packet(0, range(0, 4), new long[0], 0);
            byte[] stream = channel.bytes();
            int header = MultifdFormat.headerLength(ALLOC);
            MultifdDecoder decoder = MultifdDecoder.compressed(new Placing(), MultifdLimits.defaults(), BLOCKS,
                    decompressor);
            decoder.feed(Unpooled.wrappedBuffer(stream, 0, header + 3));
            assertThat(decoder.expectsPageData()).isFalse();
            assertThat(decoder.headerBytesWanted()).isEqualTo(channel.compressedBytes - 3);
        }
    }

    @Test
    void syncPacketMayCarryTheMethodAsOlderQemuSendsIt() {
        try (PageDecompressor decompressor = decompressor(MultifdCompression.ZSTD)) {
            ByteBuf out = Unpooled.buffer();
            MultifdEncoder.sync(out, 1, ALLOC);
            out.setInt(MultifdFormat.FLAGS_AT, MultifdFormat.FLAG_SYNC | MultifdCompression.ZSTD.flag());
            Placing placing = new Placing();
            MultifdDecoder decoder = MultifdDecoder.compressed(placing, MultifdLimits.defaults(), BLOCKS, decompressor);
            assertThat(decoder.feed(out)).isEqualTo(MultifdDecoder.Result.SYNC);
            assertThat(placing.events).containsExactly("sync 1");
            out.release();
        }
    }

    @Test
    void encoderRefusesWhatTheDecoderWould() {
        ByteBuf out = Unpooled.buffer();
        long[] one = offsets(1);
        MultifdEncoder.packetHeader(out, 0, ALLOC, "pc.ram".getBytes(StandardCharsets.UTF_8), 1, one, 1, one, 0);
        assertThatThrownBy(() -> MultifdEncoder.compressedPayload(out, 0, MultifdCompression.NONE, 10))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MultifdEncoder.compressedPayload(out, 0, MultifdCompression.ZSTD, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MultifdEncoder.compressedPayload(out, 0, MultifdCompression.LZ4,
                MultifdCompression.LZ4.maxCompressedSize(PAGE_SIZE) + 1)).isInstanceOf(IllegalArgumentException.class);
        MultifdEncoder.compressedPayload(out, 0, MultifdCompression.LZ4, 100);
        assertThat(out.getInt(MultifdFormat.FLAGS_AT)).isEqualTo(MultifdCompression.LZ4.flag());
        assertThat(out.getInt(MultifdFormat.NEXT_PACKET_SIZE_AT)).isEqualTo(100);
        assertThatThrownBy(() -> MultifdEncoder.compressedPayload(out, 0, MultifdCompression.ZSTD, 100))
                .as("already compressed").isInstanceOf(IllegalArgumentException.class);
        out.release();
    }

    // ------------------------------------------------------------------ refusals

    /** A valid zstd packet of pages 1, 2 (text) and zero page 3 of pc.ram, patched. */
    private static byte[] zstdPacket(Consumer<ByteBuf> patch) {
        try (PageCompressor compressor = compressor(MultifdCompression.ZSTD, 3)) {
            byte[] bytes = new Channel(compressor, 5).packet(0, new long[] {1, 2}, new long[] {3}, 0).bytes();
            patch.accept(Unpooled.wrappedBuffer(bytes));
            return bytes;
        }
    }

    /** A header announcing pages 1 and 2 of pc.ram, followed by {@code payload} as the compressed stream. */
    private static byte[] withPayload(MultifdCompression method, byte[] payload) {
        ByteBuf out = Unpooled.buffer();
        long[] normal = offsets(1, 2);
        MultifdEncoder.packetHeader(out, 0, ALLOC, "pc.ram".getBytes(StandardCharsets.UTF_8), 7, normal, 2,
                new long[0], 0);
        MultifdEncoder.compressedPayload(out, 0, method, payload.length);
        out.writeBytes(payload);
        return Feeding.drain(out);
    }

    /** {@code pages} text pages compressed as one stream. */
    private static byte[] compressedPages(MultifdCompression method, int pages) {
        try (PageCompressor compressor = compressor(method, 1)) {
            ByteBuffer plain = ByteBuffer.allocateDirect(pages * PAGE_SIZE);
            Random random = new Random(pages);
            for (int k = 0; k < pages; k++) {
                plain.put(textPage(random));
            }
            plain.flip();
            ByteBuffer packed = ByteBuffer.allocateDirect(method.maxCompressedSize(pages * PAGE_SIZE));
            int size = compressor.compress(plain, packed);
            byte[] bytes = new byte[size];
            packed.get(bytes);
            return bytes;
        }
    }

    private static byte[] patch(byte[] bytes, Consumer<ByteBuf> patch) {
        patch.accept(Unpooled.wrappedBuffer(bytes));
        return bytes;
    }

    private static byte[] corrupted(byte[] payload) {
        byte[] bad = payload.clone();
        for (int i = 0; i < bad.length; i += 3) {
            bad[i] ^= (byte) 0x5A;
        }
        return bad;
    }

    private static byte[] plainPacket() {
        ByteBuf out = Unpooled.buffer();
        MultifdEncoder.packetHeader(out, new MultifdPacket(0, ALLOC, "pc.ram", 1, offsets(1), new long[0]));
        out.writeZero(PAGE_SIZE);
        return Feeding.drain(out);
    }

    static Stream<Arguments> refusals() {
        int lz4Bound = MultifdCompression.LZ4.maxCompressedSize(2 * PAGE_SIZE);
        return Stream.of(
                Arguments.of("zstd packet on an lz4 channel", MultifdCompression.LZ4, MultifdError.COMPRESSION_MISMATCH,
                        zstdPacket(h -> { })),
                Arguments.of("plain packet on a zstd channel", MultifdCompression.ZSTD,
                        MultifdError.COMPRESSION_MISMATCH, plainPacket()),
                Arguments.of("zlib on a zstd channel", MultifdCompression.ZSTD, MultifdError.UNSUPPORTED_FLAGS,
                        zstdPacket(h -> h.setInt(MultifdFormat.FLAGS_AT, 1 << 1))),
                Arguments.of("zstd and lz4 at once", MultifdCompression.ZSTD, MultifdError.UNSUPPORTED_FLAGS,
                        zstdPacket(h -> h.setInt(MultifdFormat.FLAGS_AT, MultifdCompression.ZSTD.flag()
                                | MultifdCompression.LZ4.flag()))),
                Arguments.of("payload over lz4's bound", MultifdCompression.LZ4,
                        MultifdError.COMPRESSED_SIZE_OVER_LIMIT, patch(withPayload(MultifdCompression.LZ4, new byte[10]),
                                h -> h.setInt(MultifdFormat.NEXT_PACKET_SIZE_AT, lz4Bound + 1))),
                Arguments.of("payload of 0xffffffff bytes", MultifdCompression.ZSTD,
                        MultifdError.COMPRESSED_SIZE_OVER_LIMIT,
                        zstdPacket(h -> h.setInt(MultifdFormat.NEXT_PACKET_SIZE_AT, -1))),
                Arguments.of("no payload for normal pages", MultifdCompression.ZSTD, MultifdError.SIZE_MISMATCH,
                        zstdPacket(h -> h.setInt(MultifdFormat.NEXT_PACKET_SIZE_AT, 0))),
                Arguments.of("zstd garbage", MultifdCompression.ZSTD, MultifdError.CORRUPT_COMPRESSED_DATA,
                        withPayload(MultifdCompression.ZSTD, corrupted(compressedPages(MultifdCompression.ZSTD, 2)))),
                Arguments.of("lz4 garbage", MultifdCompression.LZ4, MultifdError.CORRUPT_COMPRESSED_DATA,
                        withPayload(MultifdCompression.LZ4, corrupted(compressedPages(MultifdCompression.LZ4, 2)))),
                Arguments.of("zstd stream of one page for two", MultifdCompression.ZSTD,
                        MultifdError.DECOMPRESSED_SIZE_MISMATCH,
                        withPayload(MultifdCompression.ZSTD, compressedPages(MultifdCompression.ZSTD, 1))),
                Arguments.of("lz4 block of one page for two", MultifdCompression.LZ4,
                        MultifdError.DECOMPRESSED_SIZE_MISMATCH,
                        withPayload(MultifdCompression.LZ4, compressedPages(MultifdCompression.LZ4, 1))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void malformedCompressedPacketIsRefusedByNameAndPlacesNothing(String name, MultifdCompression channel,
                                                                  MultifdError error, byte[] bad) {
        for (boolean byteByByte : new boolean[] {false, true}) {
            try (PageDecompressor decompressor = decompressor(channel)) {
                Placing placing = new Placing();
                MultifdDecoder decoder = MultifdDecoder.compressed(placing, MultifdLimits.defaults(), BLOCKS,
                        decompressor);
                assertThatThrownBy(() -> feed(decoder, bad, () -> byteByByte ? 1 : bad.length))
                        .isInstanceOfSatisfying(MultifdFormatException.class,
                                e -> assertThat(e.error()).isEqualTo(error))
                        .hasMessageStartingWith(error.name() + ": ");
                assertThat(decoder.failed()).isTrue();
                assertThat(placing.events).filteredOn(e -> e.startsWith("page ")).as("no page placed").isEmpty();
                byte[] untouched = new byte[3 * PAGE_SIZE];
                Arrays.fill(untouched, GARBAGE);
                assertThat(Arrays.mismatch(placing.memory[0], 0, untouched.length, untouched, 0, untouched.length))
                        .as("pages 0..2 of pc.ram untouched").isEqualTo(-1);
            }
        }
    }

    @Test
    void aCompressedPacketOnAPlainChannelIsRefused() {
        byte[] bad = zstdPacket(h -> { });
        MultifdDecoder decoder = new MultifdDecoder(new Placing(), MultifdLimits.defaults(), BLOCKS);
        assertThatThrownBy(() -> feed(decoder, bad, () -> bad.length))
                .isInstanceOfSatisfying(MultifdFormatException.class,
                        e -> assertThat(e.error()).isEqualTo(MultifdError.COMPRESSION_MISMATCH));
    }
}
