package io.ferry.wire;

import static io.ferry.wire.MultifdFormat.PAGE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.wire.MultifdDecoder.Result;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Multifd framing written with the encoders and read back, however the channel's bytes are cut
 * up or placed: every callback, in order, and guest memory byte for byte. Then one malformed
 * channel per {@link MultifdError}, refused by name whole and byte by byte.
 */
class MultifdCodecTest {

    private static final List<RamBlockInfo> BLOCKS = List.of(
            new RamBlockInfo("pc.ram", 160L * PAGE_SIZE),
            new RamBlockInfo("vga.vram", 16L * PAGE_SIZE));
    private static final UUID JOB = UUID.fromString("6f1c2a4e-3b7d-4c0e-9a51-0d2e8f4b7c13");
    private static final int ALLOC = MultifdFormat.PAGES_PER_PACKET;
    /** Memory starts as this, so zeroed and never-sent pages are both visible. */
    private static final byte GARBAGE = (byte) 0xAA;

    // ------------------------------------------------------------------ fixtures

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

    /** A channel's bytes (after the init packet) and the memory and callbacks they must produce. */
    private static final class Channel {
        final ByteBuf out = Unpooled.buffer();
        final byte[][] memory = freshMemory();
        final List<String> events = new ArrayList<>();
        private final Random random;
        private long packetNum = 1;

        Channel(long seed) {
            random = new Random(seed);
        }

        Channel packet(int block, long[] normalPages, long[] zeroPages) {
            MultifdPacket header = new MultifdPacket(0, ALLOC, BLOCKS.get(block).idstr(), nextNumber(),
                    offsets(normalPages), offsets(zeroPages));
            MultifdEncoder.packetHeader(out, header);
            events.add("packet " + block + " " + header);
            for (long p : zeroPages) {
                Arrays.fill(memory[block], (int) (p * PAGE_SIZE), (int) ((p + 1) * PAGE_SIZE), (byte) 0);
            }
            byte[] data = new byte[PAGE_SIZE];
            for (long p : normalPages) {
                random.nextBytes(data);
                out.writeBytes(data);
                System.arraycopy(data, 0, memory[block], (int) (p * PAGE_SIZE), PAGE_SIZE);
                events.add("complete " + block + " " + p);
            }
            return this;
        }

        Channel sync() {
            long number = nextNumber();
            MultifdEncoder.sync(out, number, ALLOC);
            events.add("sync " + number);
            return this;
        }

        /** Numbers increase but skip: the other channels take the ones in between. */
        private long nextNumber() {
            long number = packetNum;
            packetNum += 1 + random.nextInt(3);
            return number;
        }

        byte[] bytes() {
            return Feeding.drain(out.retainedDuplicate());
        }
    }

    private static long[] range(int from, int to) {
        return LongStream.range(from, to).toArray();
    }

    /** Two rounds over both blocks: a packet using every slot, out-of-order offsets, zero-only packets, syncs. */
    private static Channel scenario() {
        return new Channel(42)
                .packet(0, range(0, 100), range(100, 128))
                .packet(1, new long[] {3, 0, 15}, new long[] {7})
                .sync()
                .packet(0, new long[] {130, 5, 159}, new long[0])
                .packet(0, new long[0], new long[] {0, 1})
                .packet(1, new long[] {15}, new long[0])
                .sync();
    }

    /** Keeps guest memory and every callback as a line; checks fragments arrive in page order. */
    private static class MemoryListener implements MultifdListener {
        final byte[][] memory = freshMemory();
        final List<String> events = new ArrayList<>();
        long fedBytes;
        int splitPages;
        int mixedPages;
        private int nextOffset;
        private int fragmentsThisPage;
        private boolean placedThisPage;

        @Override
        public void packet(int blockIndex, MultifdPacket header) {
            events.add("packet " + blockIndex + " " + header);
            for (long offset : header.zeroOffsets()) {
                Arrays.fill(memory[blockIndex], (int) offset, (int) offset + PAGE_SIZE, (byte) 0);
            }
        }

        @Override
        public void pageData(int blockIndex, long pageIndex, int offsetInPage, ByteBuf data) {
            assertThat(offsetInPage).as("fragment offset of page %d", pageIndex).isEqualTo(nextOffset);
            int n = data.readableBytes();
            assertThat(n).isBetween(1, PAGE_SIZE - offsetInPage);
            data.readBytes(memory[blockIndex], (int) (pageIndex * PAGE_SIZE) + offsetInPage, n);
            nextOffset += n;
            fedBytes += n;
            fragmentsThisPage++;
        }

        /** The test's transport put {@code n} bytes into the page itself. */
        void placedDirectly(int n) {
            nextOffset += n;
            placedThisPage = true;
        }

        @Override
        public void pageComplete(int blockIndex, long pageIndex) {
            assertThat(nextOffset).as("bytes of page %d", pageIndex).isEqualTo(PAGE_SIZE);
            events.add("complete " + blockIndex + " " + pageIndex);
            splitPages += fragmentsThisPage > 1 ? 1 : 0;
            mixedPages += fragmentsThisPage > 0 && placedThisPage ? 1 : 0;
            nextOffset = 0;
            fragmentsThisPage = 0;
            placedThisPage = false;
        }

        @Override
        public void sync(long packetNum) {
            events.add("sync " + packetNum);
        }
    }

    /**
     * Feeds {@code stream} in chunks into a cumulation buffer, as a transport would, feeding on
     * after every SYNC (nothing holds the channel here). Returns the bytes left unread.
     */
    private static int feed(MultifdDecoder decoder, byte[] stream, IntSupplier chunkSize) {
        ByteBuf cumulation = Unpooled.buffer(8192);
        try {
            int at = 0;
            while (at < stream.length) {
                int n = Math.min(Math.max(1, chunkSize.getAsInt()), stream.length - at);
                cumulation.writeBytes(stream, at, n);
                at += n;
                while (decoder.feed(cumulation) == Result.SYNC) {
                    // released at once
                }
                cumulation.discardSomeReadBytes();
            }
            return cumulation.readableBytes();
        } finally {
            cumulation.release();
        }
    }

    private static MultifdDecoder decoder(MultifdListener listener) {
        return new MultifdDecoder(listener, MultifdLimits.defaults(), BLOCKS);
    }

    private static void assertMemory(byte[][] actual, byte[][] expected) {
        for (int b = 0; b < expected.length; b++) {
            assertThat(Arrays.mismatch(actual[b], expected[b])).as("first wrong byte of block %d", b).isEqualTo(-1);
        }
    }

    private static void assertDelivered(MemoryListener listener, Channel channel) {
        assertThat(listener.events).containsExactlyElementsOf(channel.events);
        assertMemory(listener.memory, channel.memory);
    }

    private static byte[] header(MultifdPacket packet) {
        ByteBuf out = Unpooled.buffer();
        MultifdEncoder.packetHeader(out, packet);
        return Feeding.drain(out);
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuf out = Unpooled.buffer();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return Feeding.drain(out);
    }

    // ------------------------------------------------------------------ init packet

    @Test
    void initPacketHasQemuLayout() {
        ByteBuf out = Unpooled.buffer();
        new MultifdInit(JOB, 3).encode(out);
        assertThat(Feeding.drain(out)).isEqualTo(Feeding.hex("11223344 00000001 6f1c2a4e3b7d4c0e9a510d2e8f4b7c13 03"
                + "00".repeat(39)));
    }

    @Test
    void initRoundTripsWholeAndByteByByteConsumingNothingUntilComplete() {
        ByteBuf encoded = Unpooled.buffer();
        new MultifdInit(JOB, 7).encode(encoded);
        encoded.writeByte(0x11); // the first data packet's first byte: must stay unread
        byte[] bytes = Feeding.drain(encoded);

        ByteBuf whole = Unpooled.wrappedBuffer(bytes);
        assertThat(MultifdInit.decode(whole, JOB, 8)).isEqualTo(new MultifdInit(JOB, 7));
        assertThat(whole.readableBytes()).isEqualTo(1);

        ByteBuf cumulation = Unpooled.buffer();
        try {
            for (int k = 0; k < MultifdFormat.INIT_LENGTH - 1; k++) {
                cumulation.writeByte(bytes[k]);
                assertThat(MultifdInit.decode(cumulation, JOB, 8)).isNull();
                assertThat(cumulation.readerIndex()).isZero();
            }
            cumulation.writeBytes(bytes, MultifdFormat.INIT_LENGTH - 1, 2);
            assertThat(MultifdInit.decode(cumulation, JOB, 8)).isEqualTo(new MultifdInit(JOB, 7));
            assertThat(cumulation.readableBytes()).isEqualTo(1);
        } finally {
            cumulation.release();
        }
    }

    static Stream<Arguments> badInits() {
        return Stream.of(
                Arguments.of("main stream on a multifd channel", 0, 0x5145564D, MultifdError.BAD_MAGIC),
                Arguments.of("version 2", 4, 2, MultifdError.UNSUPPORTED_VERSION),
                Arguments.of("another job", 8, 0x01020304, MultifdError.JOB_MISMATCH),
                Arguments.of("channel id = channels", 24, 8 << 24, MultifdError.CHANNEL_OUT_OF_RANGE),
                Arguments.of("channel id 255", 24, 0xFF << 24, MultifdError.CHANNEL_OUT_OF_RANGE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInits")
    void badInitIsRefusedByName(String name, int at, int value, MultifdError error) {
        ByteBuf in = Unpooled.buffer();
        new MultifdInit(JOB, 0).encode(in);
        in.setInt(at, value);
        assertThatThrownBy(() -> MultifdInit.decode(in, JOB, 8))
                .isInstanceOfSatisfying(MultifdFormatException.class, e -> assertThat(e.error()).isEqualTo(error))
                .hasMessageStartingWith(error.name() + ": ");
        in.release();
    }

    @Test
    void lastChannelIdIsAccepted() {
        ByteBuf in = Unpooled.buffer();
        new MultifdInit(JOB, 7).encode(in);
        assertThat(MultifdInit.decode(in, JOB, 8).channelId()).isEqualTo(7);
        in.release();
        assertThatThrownBy(() -> new MultifdInit(JOB, 256)).isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ encoder

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 5, 128, 1024})
    void headerIsFullLengthWithUnusedSlotsZero(int pagesAlloc) {
        int normal = Math.min(pagesAlloc, 2);
        int zero = pagesAlloc > 2 ? 1 : 0;
        MultifdPacket packet = new MultifdPacket(0, pagesAlloc, normal + zero == 0 ? "" : "pc.ram", 0x0102030405060708L,
                offsets(LongStream.range(0, normal).map(p -> p + 9).toArray()),
                offsets(zero == 1 ? new long[] {4} : new long[0]));
        ByteBuf h = Unpooled.wrappedBuffer(header(packet));

        assertThat(h.readableBytes()).isEqualTo(320 + 8 * pagesAlloc).isEqualTo(MultifdFormat.headerLength(pagesAlloc));
        assertThat(h.getInt(0)).isEqualTo(0x11223344);
        assertThat(h.getInt(4)).isEqualTo(1);
        assertThat(h.getInt(8)).isZero();
        assertThat(h.getInt(12)).isEqualTo(pagesAlloc);
        assertThat(h.getInt(16)).isEqualTo(normal);
        assertThat(h.getInt(20)).isEqualTo(normal * PAGE_SIZE);
        assertThat(h.getLong(24)).isEqualTo(0x0102030405060708L);
        assertThat(h.getInt(32)).isEqualTo(zero);
        for (int i = 36; i < 64; i++) {
            assertThat(h.getByte(i)).as("reserved byte %d", i).isZero();
        }
        byte[] name = packet.blockName().getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 256; i++) {
            assertThat(h.getByte(64 + i)).as("name byte %d", i).isEqualTo(i < name.length ? name[i] : 0);
        }
        for (int slot = 0; slot < pagesAlloc; slot++) {
            long expected = slot < normal ? (slot + 9L) * PAGE_SIZE : slot < normal + zero ? 4L * PAGE_SIZE : 0;
            assertThat(h.getLong(320 + 8 * slot)).as("slot %d", slot).isEqualTo(expected);
        }
    }

    @Test
    void arrayFormWritesTheSameBytesAsTheRecordForm() {
        MultifdPacket packet = new MultifdPacket(0, ALLOC, "vga.vram", 77, offsets(0, 3, 2), offsets(1));
        // Reused arrays, larger than the counts, with stale entries past them.
        long[] normal = new long[ALLOC];
        long[] zero = new long[ALLOC];
        Arrays.fill(normal, 0x7777L * PAGE_SIZE);
        Arrays.fill(zero, 0x5555L * PAGE_SIZE);
        System.arraycopy(packet.normalOffsets(), 0, normal, 0, 3);
        zero[0] = PAGE_SIZE;
        ByteBuf out = Unpooled.buffer();
        MultifdEncoder.packetHeader(out, 0, ALLOC, "vga.vram".getBytes(StandardCharsets.UTF_8), 77, normal, 3, zero, 1);
        assertThat(Feeding.drain(out)).isEqualTo(header(packet));

        ByteBuf sync = Unpooled.buffer();
        MultifdEncoder.sync(sync, 9, ALLOC);
        assertThat(Feeding.drain(sync))
                .isEqualTo(header(new MultifdPacket(MultifdFormat.FLAG_SYNC, ALLOC, "", 9, new long[0], new long[0])));
    }

    @Test
    void encoderAndPacketRefuseWhatCannotBeFramed() {
        ByteBuf out = Unpooled.buffer();
        byte[] longName = new byte[256];
        Arrays.fill(longName, (byte) 'x');
        long[] none = new long[0];
        assertThatThrownBy(() -> MultifdEncoder.packetHeader(out, 0, ALLOC, longName, 1, none, 0, none, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MultifdEncoder.sync(out, 1, MultifdLimits.MAX_PAGES_ALLOC + 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MultifdEncoder.packetHeader(out, 0, 1, new byte[1], 1, new long[2], 2, none, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(out.readableBytes()).isZero();
        out.release();

        assertThatThrownBy(() -> new MultifdPacket(0, 2, "pc.ram", 1, offsets(0, 1), offsets(2)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MultifdPacket(0, 2, "pc.ram", 1, new long[] {PAGE_SIZE + 1}, none))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MultifdPacket(0, 2, "pc.ram", 1, none, new long[] {-PAGE_SIZE}))
                .isInstanceOf(IllegalArgumentException.class);
        MultifdPacket packet = new MultifdPacket(MultifdFormat.FLAG_SYNC, 2, "", 1, none, none);
        assertThat(packet.isSync()).isTrue();
        assertThat(new MultifdPacket(0, 3, "pc.ram", 1, offsets(4, 5), offsets(6)))
                .satisfies(p -> assertThat(p.isSync()).isFalse())
                .satisfies(p -> assertThat(p.normalPages()).isEqualTo(2))
                .satisfies(p -> assertThat(p.zeroPages()).isEqualTo(1))
                .isEqualTo(new MultifdPacket(0, 3, "pc.ram", 1, offsets(4, 5), offsets(6)));
    }

    // ------------------------------------------------------------------ round trips

    @Test
    void channelRoundTripsWhole() {
        Channel channel = scenario();
        byte[] stream = channel.bytes();
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);

        assertThat(feed(decoder, stream, () -> stream.length)).isZero();
        assertDelivered(listener, channel);
        assertThat(decoder.position()).isEqualTo(stream.length);
        assertThat(decoder.expectsPageData()).isFalse();
    }

    @Test
    void channelRoundTripsByteByByte() {
        Channel channel = scenario();
        byte[] stream = channel.bytes();
        MemoryListener listener = new MemoryListener();

        assertThat(feed(decoder(listener), stream, () -> 1)).isZero();
        assertDelivered(listener, channel);
        assertThat(listener.splitPages).isEqualTo(107); // every normal page, in 4096 fragments
    }

    @ParameterizedTest
    @CsvSource({"1, 7", "2, 100", "3, 4097", "4, 5000", "5, 70000"})
    void channelRoundTripsInRandomChunks(long seed, int maxChunk) {
        Channel channel = scenario();
        byte[] stream = channel.bytes();
        MemoryListener listener = new MemoryListener();
        Random random = new Random(seed);

        assertThat(feed(decoder(listener), stream, () -> 1 + random.nextInt(maxChunk))).isZero();
        assertDelivered(listener, channel);
        assertThat(listener.splitPages).as("pages spanning chunk boundaries").isPositive();
    }

    @ParameterizedTest
    @ValueSource(longs = {7, 8, 9})
    void transportMayPlacePageDataDirectlyBetweenFeeds(long seed) {
        Channel channel = scenario();
        byte[] stream = channel.bytes();
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);
        Random random = new Random(seed);
        long placedBytes = 0;
        ByteBuf cumulation = Unpooled.buffer(8192);
        try {
            int at = 0;
            while (at < stream.length || cumulation.isReadable()) {
                if (cumulation.isReadable()) {
                    decoder.feed(cumulation); // a SYNC is released at once: the loop feeds on
                    cumulation.discardSomeReadBytes();
                } else if (decoder.expectsPageData() && random.nextBoolean()) {
                    // a scattering read from the socket straight into guest memory
                    int n = 1 + random.nextInt(decoder.bytesLeftInPage());
                    int into = (int) (decoder.pageIndex() * PAGE_SIZE) + decoder.offsetInPage();
                    System.arraycopy(stream, at, listener.memory[decoder.blockIndex()], into, n);
                    listener.placedDirectly(n);
                    decoder.placed(n);
                    at += n;
                    placedBytes += n;
                } else {
                    int n = Math.min(1 + random.nextInt(3000), stream.length - at);
                    cumulation.writeBytes(stream, at, n);
                    at += n;
                }
            }
        } finally {
            cumulation.release();
        }

        assertDelivered(listener, channel);
        assertThat(placedBytes).isPositive();
        assertThat(listener.fedBytes).isPositive();
        assertThat(placedBytes + listener.fedBytes).isEqualTo(107L * PAGE_SIZE);
        assertThat(listener.mixedPages).as("pages partly fed, partly placed").isPositive();
        assertThat(decoder.position()).isEqualTo(stream.length);
    }

    /**
     * A transport that reads only what the header still wants into its own buffer, and every run
     * of consecutive pages straight into guest memory: no page byte is ever fed (copied).
     */
    @Test
    void aTransportReadingExactlyToThePageDataPlacesEveryPageByte() {
        Channel channel = scenario();
        byte[] stream = channel.bytes();
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);
        int at = 0;
        int runs = 0;
        while (at < stream.length) {
            if (decoder.expectsPageData()) {
                int run = decoder.contiguousPageBytes();
                assertThat(run).isGreaterThanOrEqualTo(decoder.bytesLeftInPage());
                runs++;
                while (run > 0) {   // one read of the whole run, then page by page to the decoder
                    int n = Math.min(run, decoder.bytesLeftInPage());
                    int into = (int) (decoder.pageIndex() * PAGE_SIZE) + decoder.offsetInPage();
                    System.arraycopy(stream, at, listener.memory[decoder.blockIndex()], into, n);
                    listener.placedDirectly(n);
                    decoder.placed(n);
                    at += n;
                    run -= n;
                }
            } else {
                int n = decoder.headerBytesWanted();
                assertThat(n).isPositive();
                ByteBuf read = Unpooled.wrappedBuffer(stream, at, n);
                decoder.feed(read);   // a SYNC ends here too: nothing is left unread
                assertThat(read.isReadable()).isFalse();
                at += n;
            }
        }
        assertDelivered(listener, channel);
        assertThat(listener.fedBytes).as("page bytes copied through a buffer").isZero();
        assertThat(runs).as("reads of page data").isLessThan(107);
    }

    @Test
    void placementIsRefusedOutsidePageDataAndBeyondThePage() {
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);
        assertThat(decoder.expectsPageData()).isFalse();
        assertThatThrownBy(() -> decoder.placed(1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(decoder::pageIndex).isInstanceOf(IllegalStateException.class);

        ByteBuf in = Unpooled.wrappedBuffer(header(new MultifdPacket(0, ALLOC, "vga.vram", 1, offsets(2), new long[0])));
        assertThat(decoder.feed(in)).isEqualTo(Result.NEED_MORE);
        assertThat(decoder.expectsPageData()).isTrue();
        assertThat(decoder.blockIndex()).isEqualTo(1);
        assertThat(decoder.pageIndex()).isEqualTo(2);
        assertThat(decoder.offsetInPage()).isZero();
        assertThat(decoder.bytesLeftInPage()).isEqualTo(PAGE_SIZE);
        listener.placedDirectly(1000);
        decoder.placed(1000);
        assertThat(decoder.offsetInPage()).isEqualTo(1000);
        assertThat(decoder.bytesLeftInPage()).isEqualTo(PAGE_SIZE - 1000);
        assertThatThrownBy(() -> decoder.placed(PAGE_SIZE - 999)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> decoder.placed(0)).isInstanceOf(IllegalArgumentException.class);
        listener.placedDirectly(PAGE_SIZE - 1000);
        decoder.placed(PAGE_SIZE - 1000);
        assertThat(decoder.expectsPageData()).isFalse();
        assertThat(listener.events).last().isEqualTo("complete 1 2");
        assertThat(decoder.failed()).isFalse();
    }

    @Test
    void packetWithoutPagesIsReportedWithoutABlock() {
        // QEMU leaves the name empty when a packet lists no pages; it is not looked up
        MultifdPacket empty = new MultifdPacket(0, ALLOC, "", 4, new long[0], new long[0]);
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);
        assertThat(decoder.feed(Unpooled.wrappedBuffer(header(empty)))).isEqualTo(Result.NEED_MORE);
        assertThat(listener.events).containsExactly("packet -1 " + empty);
        assertThat(decoder.expectsPageData()).isFalse();
    }

    // ------------------------------------------------------------------ sync

    @Test
    void syncStopsConsumptionAndTheNextFeedGoesOn() {
        Channel channel = new Channel(3)
                .packet(0, new long[] {1, 2}, new long[0])
                .sync()
                .packet(1, new long[] {4}, new long[0]);
        byte[] stream = channel.bytes();
        int syncEnd = MultifdFormat.headerLength(ALLOC) + 2 * PAGE_SIZE + MultifdFormat.headerLength(ALLOC);
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);
        ByteBuf in = Unpooled.wrappedBuffer(stream);

        assertThat(decoder.feed(in)).isEqualTo(Result.SYNC);
        assertThat(in.readerIndex()).isEqualTo(syncEnd);
        assertThat(listener.events).containsExactlyElementsOf(channel.events.subList(0, 4));
        assertThat(listener.events.get(3)).startsWith("sync ");

        assertThat(decoder.feed(in)).isEqualTo(Result.NEED_MORE);
        assertThat(in.isReadable()).isFalse();
        assertDelivered(listener, channel);
    }

    @Test
    void syncIsReturnedExactlyWhenItsLastByteArrives() {
        Channel channel = new Channel(4).sync().packet(1, new long[] {4}, new long[0]).sync();
        byte[] stream = channel.bytes();
        int header = MultifdFormat.headerLength(ALLOC);
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = decoder(listener);
        ByteBuf cumulation = Unpooled.buffer();
        List<Integer> syncsAt = new ArrayList<>();
        for (int k = 0; k < stream.length; k++) {
            cumulation.writeByte(stream[k]);
            if (decoder.feed(cumulation) == Result.SYNC) {
                syncsAt.add(k + 1);
            }
        }
        cumulation.release();
        assertThat(syncsAt).containsExactly(header, stream.length);
        assertDelivered(listener, channel);
    }

    // ------------------------------------------------------------------ refusals

    private static final byte[] NONE = new byte[0];

    private static byte[] zeroOnly(long packetNum) {
        return header(new MultifdPacket(0, ALLOC, "pc.ram", packetNum, new long[0], offsets(0)));
    }

    private static byte[] pages(String block, long packetNum, long[] normal, long[] zero) {
        return header(new MultifdPacket(0, ALLOC, block, packetNum, offsets(normal), offsets(zero)));
    }

    /** A valid header of two normal and one zero page of pc.ram, with {@code patch} applied. */
    private static byte[] patched(Consumer<ByteBuf> patch) {
        byte[] bytes = pages("pc.ram", 10, new long[] {1, 2}, new long[] {3});
        patch.accept(Unpooled.wrappedBuffer(bytes));
        return bytes;
    }

    static Stream<Arguments> refusals() {
        int slot0 = MultifdFormat.OFFSETS_AT;
        return Stream.of(
                Arguments.of("main stream on a multifd channel", MultifdError.BAD_MAGIC, NONE,
                        patched(h -> h.setInt(0, 0x5145564D))),
                Arguments.of("lost framing after a valid packet", MultifdError.BAD_MAGIC, zeroOnly(1),
                        patched(h -> h.setInt(0, 0))),
                Arguments.of("version 2", MultifdError.UNSUPPORTED_VERSION, NONE, patched(h -> h.setInt(4, 2))),
                Arguments.of("zstd on a channel without compression", MultifdError.COMPRESSION_MISMATCH, NONE,
                        patched(h -> h.setInt(8, 2 << 1))),
                Arguments.of("zlib and SYNC", MultifdError.UNSUPPORTED_FLAGS, NONE, patched(h -> h.setInt(8, 1 << 1 | 1))),
                Arguments.of("device state", MultifdError.UNSUPPORTED_FLAGS, NONE, patched(h -> h.setInt(8, 0x40))),
                Arguments.of("unknown flag bit", MultifdError.UNSUPPORTED_FLAGS, NONE, patched(h -> h.setInt(8, 0x100))),
                Arguments.of("pages_alloc 129", MultifdError.PAGE_COUNT_OVER_LIMIT, NONE,
                        header(new MultifdPacket(0, 129, "pc.ram", 1, offsets(0), new long[0]))),
                Arguments.of("pages_alloc 0xffffffff", MultifdError.PAGE_COUNT_OVER_LIMIT, NONE,
                        patched(h -> h.setInt(12, -1))),
                Arguments.of("normal + zero over pages_alloc", MultifdError.PAGE_COUNT_OVER_LIMIT, NONE,
                        patched(h -> h.setInt(32, ALLOC - 1))),
                Arguments.of("normal_pages 0xffffffff", MultifdError.PAGE_COUNT_OVER_LIMIT, NONE,
                        patched(h -> h.setInt(16, -1))),
                Arguments.of("unknown block", MultifdError.UNKNOWN_BLOCK, NONE,
                        pages("pc.rom", 1, new long[] {0}, new long[0])),
                Arguments.of("prefix of a known block", MultifdError.UNKNOWN_BLOCK, NONE,
                        pages("pc.ra", 1, new long[] {0}, new long[0])),
                Arguments.of("empty block name with pages", MultifdError.UNKNOWN_BLOCK, NONE,
                        pages("", 1, new long[0], new long[] {0})),
                Arguments.of("block name without NUL", MultifdError.UNKNOWN_BLOCK, NONE,
                        patched(h -> h.setBytes(64, "x".repeat(256).getBytes(StandardCharsets.US_ASCII)))),
                Arguments.of("offset at the block's end", MultifdError.OFFSET_OUTSIDE_BLOCK, NONE,
                        pages("vga.vram", 1, new long[] {15, 16}, new long[0])),
                Arguments.of("zero page past the block", MultifdError.OFFSET_OUTSIDE_BLOCK, NONE,
                        pages("vga.vram", 1, new long[0], new long[] {0, 400})),
                Arguments.of("unaligned offset", MultifdError.OFFSET_OUTSIDE_BLOCK, NONE,
                        patched(h -> h.setLong(slot0, PAGE_SIZE + 8))),
                Arguments.of("negative offset", MultifdError.OFFSET_OUTSIDE_BLOCK, NONE,
                        patched(h -> h.setLong(slot0 + 16, -PAGE_SIZE))),
                Arguments.of("next_packet_size one page short", MultifdError.SIZE_MISMATCH, NONE,
                        patched(h -> h.setInt(20, PAGE_SIZE))),
                Arguments.of("next_packet_size of a compressed payload", MultifdError.SIZE_MISMATCH, NONE,
                        patched(h -> h.setInt(20, 1234))),
                Arguments.of("SYNC listing normal pages", MultifdError.SYNC_WITH_PAGES, NONE,
                        patched(h -> h.setInt(8, MultifdFormat.FLAG_SYNC))),
                Arguments.of("SYNC listing a zero page", MultifdError.SYNC_WITH_PAGES, NONE, syncWithZeroPage()),
                Arguments.of("repeated packet number", MultifdError.PACKET_NUMBER_NOT_INCREASING, zeroOnly(5),
                        zeroOnly(5)),
                Arguments.of("decreasing packet number", MultifdError.PACKET_NUMBER_NOT_INCREASING, zeroOnly(5),
                        zeroOnly(4)),
                Arguments.of("SYNC numbered below the last packet", MultifdError.PACKET_NUMBER_NOT_INCREASING,
                        zeroOnly(5), syncHeader(3)),
                Arguments.of("wrap-around is not an increase", MultifdError.PACKET_NUMBER_NOT_INCREASING,
                        zeroOnly(-1), zeroOnly(0)));
    }

    private static byte[] syncHeader(long packetNum) {
        ByteBuf out = Unpooled.buffer();
        MultifdEncoder.sync(out, packetNum, ALLOC);
        return Feeding.drain(out);
    }

    private static byte[] syncWithZeroPage() {
        byte[] bytes = pages("pc.ram", 1, new long[0], new long[] {0});
        Unpooled.wrappedBuffer(bytes).setInt(8, MultifdFormat.FLAG_SYNC);
        return bytes;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void malformedPacketIsRefusedByNameWholeAndByteByByte(String name, MultifdError error, byte[] validPrefix,
                                                         byte[] bad) {
        MemoryListener prefixOnly = new MemoryListener();
        assertThat(feed(decoder(prefixOnly), validPrefix, () -> 1)).isZero();
        byte[] stream = concat(validPrefix, bad);

        for (boolean byteByByte : new boolean[] {false, true}) {
            MemoryListener listener = new MemoryListener();
            MultifdDecoder decoder = decoder(listener);
            assertThatThrownBy(() -> feed(decoder, stream, () -> byteByByte ? 1 : stream.length))
                    .isInstanceOfSatisfying(MultifdFormatException.class, e -> assertThat(e.error()).isEqualTo(error))
                    .hasMessageStartingWith(error.name() + ": ");
            assertThat(decoder.failed()).isTrue();
            // the refused packet never reached the listener
            assertThat(listener.events).isEqualTo(prefixOnly.events);
        }
    }

    @Test
    void largerLimitAcceptsLargerPackets() {
        byte[] stream = header(new MultifdPacket(0, 1024, "pc.ram", 1, new long[0], offsets(range(0, 160))));
        MemoryListener listener = new MemoryListener();
        MultifdDecoder decoder = new MultifdDecoder(listener, new MultifdLimits(1024), BLOCKS);
        assertThat(feed(decoder, stream, () -> 1)).isZero();
        assertThat(listener.events).hasSize(1);
        assertThatThrownBy(() -> new MultifdLimits(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MultifdLimits(1025)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void deadDecoderThrowsOnEveryFurtherCall() {
        MultifdDecoder decoder = decoder(new MemoryListener());
        byte[] bad = patched(h -> h.setInt(4, 9));
        assertThatThrownBy(() -> decoder.feed(Unpooled.wrappedBuffer(bad))).isInstanceOf(MultifdFormatException.class);

        byte[] good = zeroOnly(1);
        assertThatThrownBy(() -> decoder.feed(Unpooled.wrappedBuffer(good)))
                .isInstanceOf(IllegalStateException.class)
                .hasCauseInstanceOf(MultifdFormatException.class)
                .hasMessageContaining("UNSUPPORTED_VERSION");
        assertThatThrownBy(() -> decoder.feed(Unpooled.EMPTY_BUFFER)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> decoder.placed(1)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void listenerMayRefuseAndTheDecoderDies() {
        MultifdDecoder decoder = decoder(new MemoryListener() {
            @Override
            public void pageComplete(int blockIndex, long pageIndex) {
                throw new StreamFormatException("guest memory of block " + blockIndex + " is read-only");
            }
        });
        ByteBuf in = Unpooled.wrappedBuffer(pages("pc.ram", 1, new long[] {0}, new long[0]));
        assertThat(decoder.feed(in)).isEqualTo(Result.NEED_MORE);
        assertThat(decoder.expectsPageData()).isTrue();
        assertThatThrownBy(() -> decoder.placed(PAGE_SIZE)).hasMessage("guest memory of block 0 is read-only");
        assertThat(decoder.failed()).isTrue();
        assertThatThrownBy(() -> decoder.feed(Unpooled.EMPTY_BUFFER)).isInstanceOf(IllegalStateException.class);
    }
}
