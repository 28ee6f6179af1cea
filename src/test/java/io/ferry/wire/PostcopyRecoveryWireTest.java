package io.ferry.wire;

import static io.ferry.wire.Feeding.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Post-copy recovery on the wire: COMMAND RECV_BITMAP and POSTCOPY_RESUME, the return path's
 * RECV_BITMAP and RESUME_ACK, and one decoder going on across a broken connection.
 */
class PostcopyRecoveryWireTest {

    private static final int PC_RAM = 0;
    private static final int SMALL = 1;

    /** Records the recovery commands as events beside the pages. */
    static final class RecoveryListener extends RecordingListener {
        RecoveryListener() {
            super(true);
        }

        @Override
        public void recvBitmap(int blockIndex) {
            events.add("recvBitmap " + blockIndex);
        }

        @Override
        public void postcopyResume() {
            events.add("postcopyResume");
        }
    }

    /** How the stream's bytes arrive; every way must give the same conversation. */
    private static final List<String> FEEDINGS = List.of("whole", "byteByByte", "random1", "random2", "random3");

    private static int feed(StreamDecoder decoder, byte[] stream, String feeding) {
        return switch (feeding) {
            case "whole" -> Feeding.whole(decoder, stream);
            case "byteByByte" -> Feeding.byteByByte(decoder, stream);
            default -> Feeding.randomChunks(decoder, stream, feeding.hashCode(), 5000);
        };
    }

    private static byte[] encoded(java.util.function.Consumer<ByteBuf> writer) {
        ByteBuf out = Unpooled.buffer();
        writer.accept(out);
        return Feeding.drain(out);
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /** What {@link TestStream#page} writes as data for {@code fillByte}. */
    private static byte[] pageBytes(int fillByte) {
        byte[] page = new byte[StreamFormat.PAGE_SIZE];
        for (int k = 0; k < page.length; k++) {
            page[k] = (byte) (fillByte + k);
        }
        return page;
    }

    private static String pageEvent(int block, long page, int fillByte) {
        return "page " + block + " " + page + " " + RecordingListener.crc(pageBytes(fillByte));
    }

    private static byte[] pageOf(RecordingListener listener, int block, long page) {
        int from = Math.toIntExact(page * StreamFormat.PAGE_SIZE);
        return Arrays.copyOfRange(listener.memory[block], from, from + StreamFormat.PAGE_SIZE);
    }

    // ------------------------------------------------------------------ stream commands

    @Test
    void recoveryCommandsHaveQemusLayout() {
        assertThat(encoded(out -> StreamEncoder.recvBitmap(out, "pc.ram")))
                .isEqualTo(hex("08 000a 0007 06 70632e72616d"));
        assertThat(encoded(out -> StreamEncoder.postcopyResume(out))).isEqualTo(hex("08 0009 0000"));
        assertThatThrownBy(() -> StreamEncoder.recvBitmap(Unpooled.buffer(), ""))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StreamEncoder.recvBitmap(Unpooled.buffer(), "x".repeat(256)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void recoveryCommandsRoundTripWholeByteByByteAndInRandomChunks() {
        byte[] stream = concat(
                TestStream.inPart().page("pc.ram", 0, 1).closePart().build(),
                encoded(out -> {
                    StreamEncoder.recvBitmap(out, "pc.ram");
                    StreamEncoder.recvBitmap(out, "small");
                    StreamEncoder.postcopyResume(out);
                }),
                new TestStream().part(TestStream.RAM_ID).page("small", 1, 2).closePart().eof().build());

        for (String feeding : FEEDINGS) {
            RecoveryListener listener = new RecoveryListener();
            StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

            assertThat(feed(decoder, stream, feeding)).as(feeding).isZero();

            assertThat(listener.events).as(feeding).containsExactly(
                    "configuration " + StreamFormat.MACHINE_TYPE,
                    "ramBlocks " + TestStream.BLOCKS,
                    "endOfRamSection START",
                    pageEvent(PC_RAM, 0, 1),
                    "endOfRamSection PART",
                    "recvBitmap " + PC_RAM,
                    "recvBitmap " + SMALL,
                    "postcopyResume",
                    pageEvent(SMALL, 1, 2),
                    "endOfRamSection PART",
                    "endOfStream");
        }
    }

    @Test
    void aListenerWithoutRecoveryRefusesBothCommands() {
        byte[] prefix = TestStream.inPart().closePart().build();
        Feeding.assertRefused(RecordingListener::new,
                concat(prefix, encoded(out -> StreamEncoder.recvBitmap(out, "pc.ram"))), DecoderLimits.defaults(),
                "MIG_CMD RECV_BITMAP (0xa) is not expected here");
        Feeding.assertRefused(RecordingListener::new, concat(prefix, encoded(StreamEncoder::postcopyResume)),
                DecoderLimits.defaults(), "MIG_CMD POSTCOPY_RESUME (0x9) is not expected here");
    }

    private static void assertCommandRefused(byte[] stream, String message) {
        List<RecoveryListener> listeners = Feeding.assertRefused(RecoveryListener::new, stream,
                DecoderLimits.defaults(), message);
        listeners.forEach(l -> assertThat(l.events).noneMatch(e -> e.startsWith("recvBitmap") || e.equals("postcopyResume")));
    }

    @Test
    void recvBitmapWhoseNameLengthDisagreesWithTheCommandLengthIsRefusedWithoutWaitingForTheLength() {
        byte[] prefix = TestStream.inPart().closePart().build();
        // length 7 announced, name length byte says 5: refused although the stream stops right there
        assertCommandRefused(concat(prefix, new TestStream().u8(StreamFormat.COMMAND).be16(StreamFormat.CMD_RECV_BITMAP)
                        .be16(0xffff).u8(5).build()),
                "MIG_CMD RECV_BITMAP has bad length 65535 for a block name of 5 bytes (expected 6)");
        assertCommandRefused(concat(prefix, new TestStream().u8(StreamFormat.COMMAND).be16(StreamFormat.CMD_RECV_BITMAP)
                        .be16(6).counted("pc.ram").build()),
                "MIG_CMD RECV_BITMAP has bad length 6 for a block name of 6 bytes (expected 7)");
        assertCommandRefused(concat(prefix, new TestStream().u8(StreamFormat.COMMAND).be16(StreamFormat.CMD_RECV_BITMAP)
                        .be16(1).u8(0).build()),
                "MIG_CMD RECV_BITMAP has bad length 1 (expected 1 + block name length)");
    }

    @Test
    void recvBitmapForAnUnknownBlockOrBeforeTheBlockListIsRefusedByName() {
        assertCommandRefused(concat(TestStream.inPart().closePart().build(),
                        encoded(out -> StreamEncoder.recvBitmap(out, "vga.vram"))),
                "MIG_CMD RECV_BITMAP for unknown RAM block 'vga.vram'");
        assertCommandRefused(concat(new TestStream().header().build(),
                        encoded(out -> StreamEncoder.recvBitmap(out, "pc.ram"))),
                "MIG_CMD RECV_BITMAP before the RAM block list");
    }

    @Test
    void postcopyResumeWithAPayloadIsRefused() {
        assertCommandRefused(concat(TestStream.inPart().closePart().build(),
                        new TestStream().u8(StreamFormat.COMMAND).be16(StreamFormat.CMD_POSTCOPY_RESUME).be16(4).be32(1)
                                .build()),
                "MIG_CMD POSTCOPY_RESUME has bad length 4 (expected 0)");
    }

    // ------------------------------------------------------------------ continueOnNewStream

    /**
     * The old connection: pc.ram pages 0 (named) and 1 (CONTINUE) complete, then page 2 (CONTINUE)
     * cut after {@code cutInRecord} of its 8 + 4096 bytes.
     */
    private static byte[] oldConnection(int cutInRecord) {
        byte[] complete = TestStream.inPart().page("pc.ram", 0, 1).page("pc.ram", 1, 2).build();
        byte[] withThird = TestStream.inPart().page("pc.ram", 0, 1).page("pc.ram", 1, 2).page("pc.ram", 2, 3).build();
        assertThat(withThird.length - complete.length).isEqualTo(Long.BYTES + StreamFormat.PAGE_SIZE);
        return Arrays.copyOf(withThird, complete.length + cutInRecord);
    }

    /**
     * The new connection, as QEMU's source writes it after a reconnect: no header, the recovery
     * handshake, then a PART of the RAM section whose first record names its block.
     */
    private static byte[] newConnection() {
        return concat(
                encoded(out -> {
                    StreamEncoder.recvBitmap(out, "pc.ram");
                    StreamEncoder.recvBitmap(out, "small");
                    StreamEncoder.postcopyResume(out);
                }),
                newConnectionPages());
    }

    /** The pages part of {@link #newConnection}: starts right with the PART section's type byte. */
    private static byte[] newConnectionPages() {
        return new TestStream().part(TestStream.RAM_ID)
                        .page("pc.ram", 2, 0x40).page("pc.ram", 3, 0x50).page("small", 0, 0x60).closePart()
                        .end(TestStream.RAM_ID).closePart().eof().build();
    }

    private static final List<String> NEW_CONNECTION_EVENTS = List.of(
            "recvBitmap " + PC_RAM, "recvBitmap " + SMALL, "postcopyResume",
            pageEvent(PC_RAM, 2, 0x40), pageEvent(PC_RAM, 3, 0x50), pageEvent(SMALL, 0, 0x60),
            "endOfRamSection PART", "endOfRamSection END", "endOfStream");

    @Test
    void aStreamCutInAPageRecordGoesOnOnANewConnectionWithNothingOfTheCutRecord() {
        byte[] fresh = newConnection();
        for (String feeding : FEEDINGS) {
            for (int cut : new int[] {1, 7, 8, 9, 100, 4095, Long.BYTES + StreamFormat.PAGE_SIZE - 1}) {
                String as = feeding + ", cut after " + cut + " bytes of the record";
                byte[] old = oldConnection(cut);
                RecoveryListener listener = new RecoveryListener();
                StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

                int unread = feed(decoder, old, feeding);  // the connection breaks: its unread bytes are lost
                assertThat(unread).as(as).isEqualTo(cut);
                assertThat(listener.pages).as(as).containsExactly(pageEvent(PC_RAM, 0, 1), pageEvent(PC_RAM, 1, 2));

                int before = listener.events.size();
                decoder.continueOnNewStream();
                assertThat(feed(decoder, fresh, feeding)).as(as).isZero();

                assertThat(listener.events.subList(before, listener.events.size())).as(as)
                        .containsExactlyElementsOf(NEW_CONNECTION_EVENTS);
                assertThat(pageOf(listener, PC_RAM, 2)).as(as).isEqualTo(pageBytes(0x40));
                assertThat(decoder.finished()).isTrue();
                assertThat(decoder.position()).as("position counts the new connection from 0").isEqualTo(fresh.length);
            }
        }
    }

    @Test
    void everyCutPointInThePageRecordIsDroppedWholeBeforeANewConnectionStartingWithThePartSection() {
        byte[] fresh = newConnectionPages();
        assertThat(fresh[0]).isEqualTo(StreamFormat.SECTION_PART);
        for (int cut = 0; cut < Long.BYTES + StreamFormat.PAGE_SIZE; cut++) {
            RecoveryListener listener = new RecoveryListener();
            StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
            assertThat(Feeding.whole(decoder, oldConnection(cut))).isEqualTo(cut);
            decoder.continueOnNewStream();
            assertThat(Feeding.whole(decoder, fresh)).isZero();
            assertThat(decoder.finished()).isTrue();
            assertThat(listener.pages).as("cut " + cut).containsExactly(pageEvent(PC_RAM, 0, 1), pageEvent(PC_RAM, 1, 2),
                    pageEvent(PC_RAM, 2, 0x40), pageEvent(PC_RAM, 3, 0x50), pageEvent(SMALL, 0, 0x60));
        }
    }

    @Test
    void aDecoderCanBeContinuedAgainAfterASecondBreak() {
        RecoveryListener listener = new RecoveryListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        Feeding.whole(decoder, oldConnection(50));
        decoder.continueOnNewStream();
        byte[] second = concat(encoded(out -> StreamEncoder.recvBitmap(out, "pc.ram")),
                new TestStream().part(TestStream.RAM_ID).page("small", 1, 9).build());
        assertThat(Feeding.whole(decoder, Arrays.copyOf(second, second.length - 10))).isEqualTo(8 + 1 + 5 + 4086);
        decoder.continueOnNewStream();
        Feeding.whole(decoder, newConnection());

        assertThat(listener.pages).containsExactly(pageEvent(PC_RAM, 0, 1), pageEvent(PC_RAM, 1, 2),
                pageEvent(PC_RAM, 2, 0x40), pageEvent(PC_RAM, 3, 0x50), pageEvent(SMALL, 0, 0x60));
        assertThat(listener.events).containsSubsequence("recvBitmap " + PC_RAM, "recvBitmap " + PC_RAM,
                "recvBitmap " + SMALL, "postcopyResume");
    }

    @Test
    void theFirstPageRecordOnANewConnectionMustNameItsBlock() {
        RecoveryListener listener = new RecoveryListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        Feeding.whole(decoder, oldConnection(0));  // pages 0 and 1 of pc.ram read: CONTINUE would mean pc.ram
        decoder.continueOnNewStream();
        byte[] fresh = new TestStream().part(TestStream.RAM_ID)
                .word(2L * StreamFormat.PAGE_SIZE | RamFlag.PAGE.code() | RamFlag.CONTINUE.code()).pageData(7).build();

        assertThatThrownBy(() -> Feeding.whole(decoder, fresh)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("RAM record with CONTINUE before any block was named")
                .hasMessageContaining("(stream offset 5)");
        assertThat(listener.pages).hasSize(2);
        assertThat(decoder.failed()).isTrue();
    }

    @Test
    void aNewConnectionStartsAtTheTopLevelAndKeepsTheSectionsAlreadyKnown() {
        byte[] old = TestStream.inPart().page("pc.ram", 0, 1).build();
        // the new connection has no header: the magic's first byte is an unknown section type
        assertRefusedOnNewConnection(old, new TestStream().header().build(), "Unknown section type 0x51");
        // no configuration subsections either
        assertRefusedOnNewConnection(old, new TestStream().u8(StreamFormat.SUBSECTION).counted("configuration/uuid")
                .build(), "Subsection byte 0x05 at top level");
        // the section ids of the old connection are known...
        assertRefusedOnNewConnection(old, new TestStream().part(TestStream.RAM_ID + 1).build(),
                "Unknown section id 3 in a PART section");
        assertRefusedOnNewConnection(old, new TestStream().fullHeader(TestStream.RAM_ID, "timer", 0, 1).build(),
                "FULL section 'timer' reuses section id 2 of 'ram'");
        // ...and so is the START already read
        assertRefusedOnNewConnection(old, new TestStream().ramStart(TestStream.BLOCKS).build(),
                "Duplicate START section for 'ram'");
    }

    private static void assertRefusedOnNewConnection(byte[] old, byte[] fresh, String message) {
        StreamDecoder decoder = new StreamDecoder(new RecoveryListener(), DecoderLimits.defaults());
        Feeding.whole(decoder, old);
        decoder.continueOnNewStream();
        assertThatThrownBy(() -> Feeding.whole(decoder, fresh)).isInstanceOf(StreamFormatException.class)
                .hasMessageContaining(message);
    }

    @Test
    void aDeviceSectionCutShortIsDroppedAndSentAgain() {
        RecoveryListener listener = new RecoveryListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        byte[] old = TestStream.inPart().closePart().deviceState(5, new byte[] {1, 2, 3, 4}).build();
        assertThat(Feeding.whole(decoder, Arrays.copyOf(old, old.length - 3))).isPositive();

        decoder.continueOnNewStream();
        Feeding.whole(decoder, new TestStream().deviceState(5, new byte[] {9}).eof().build());

        assertThat(listener.deviceStates).containsOnlyKeys(StreamFormat.DEVICE_STATE_SECTION + "#0");
        assertThat(listener.deviceStates.get(StreamFormat.DEVICE_STATE_SECTION + "#0")).containsExactly(9);
    }

    @Test
    void aRamBlockListCutShortStaysUnknown() {
        RecoveryListener listener = new RecoveryListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        byte[] old = new TestStream().header().ramStart(TestStream.BLOCKS).build();
        Feeding.whole(decoder, Arrays.copyOf(old, old.length - 20));  // "small" and the rest missing
        decoder.continueOnNewStream();

        assertThatThrownBy(() -> Feeding.whole(decoder, new TestStream().part(TestStream.RAM_ID).page("pc.ram", 0, 1)
                .build())).hasMessageContaining("RAM page record before the RAM block list");
        assertThat(listener.blocks).isNull();
    }

    @Test
    void aFailedDecoderIsNotContinued() {
        StreamDecoder decoder = new StreamDecoder(new RecoveryListener(), DecoderLimits.defaults());
        byte[] broken = TestStream.inPart().word(0x9000L | RamFlag.PAGE.code()).counted("rom").build();
        assertThatThrownBy(() -> Feeding.whole(decoder, broken)).isInstanceOf(StreamFormatException.class);

        assertThatThrownBy(decoder::continueOnNewStream).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("failed").hasMessageContaining("Unknown ramblock \"rom\"");
        assertThat(decoder.failed()).isTrue();
    }

    @Test
    void aFinishedDecoderIsNotContinued() {
        StreamDecoder afterEof = new StreamDecoder(new RecoveryListener(), DecoderLimits.defaults());
        Feeding.whole(afterEof, TestStream.inPart().closePart().eof().build());
        assertThatThrownBy(afterEof::continueOnNewStream).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("EOF was already read");

        StreamDecoder inVmDescription = new StreamDecoder(new RecoveryListener(), DecoderLimits.defaults());
        Feeding.whole(inVmDescription, new TestStream().header().eof().u8(StreamFormat.VMDESCRIPTION).be32(10).u8('{')
                .build());
        assertThatThrownBy(inVmDescription::continueOnNewStream).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("EOF was already read");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 8, 12})
    void aDecoderThatHasNotReadTheHeaderAndConfigurationIsNotContinued(int headerBytes) {
        StreamDecoder decoder = new StreamDecoder(new RecoveryListener(), DecoderLimits.defaults());
        byte[] header = new TestStream().header().build();
        Feeding.whole(decoder, Arrays.copyOf(header, headerBytes));

        assertThatThrownBy(decoder::continueOnNewStream).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("header and configuration were not read yet");
        assertThat(decoder.failed()).isFalse();
    }

    // ------------------------------------------------------------------ return path

    private static byte[] encode(ReturnPathMessage... messages) {
        ByteBuf out = Unpooled.buffer();
        for (ReturnPathMessage message : messages) {
            ReturnPathMessage.encode(out, message);
        }
        return Feeding.drain(out);
    }

    /** Feeds {@code bytes} in chunks as a channel would; checks that nothing stayed unread. */
    private static List<ReturnPathMessage> decode(byte[] bytes, IntSupplier chunkSize) {
        List<ReturnPathMessage> received = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
        assertThat(Feeding.feed(decoder::feed, bytes, chunkSize)).isZero();
        return received;
    }

    private static List<List<ReturnPathMessage>> decodeEveryWay(byte[] bytes) {
        Random random = new Random(42);
        return List.of(decode(bytes, () -> bytes.length), decode(bytes, () -> 1),
                decode(bytes, () -> 1 + random.nextInt(50)), decode(bytes, () -> 1 + random.nextInt(3000)));
    }

    private static long[] bitmapOf(long pages, long... received) {
        long[] words = new long[(int) ((pages + 63) >>> 6)];
        for (long page : received) {
            words[(int) (page >>> 6)] |= 1L << page;
        }
        return words;
    }

    @Test
    void recoveryMessagesHaveQemusLayout() {
        assertThat(encode(new ReturnPathMessage.ResumeAck(1))).isEqualTo(hex("0006 0004 00000001"));
        assertThat(encode(new ReturnPathMessage.ReceivedBitmap("pc.ram", bitmapOf(128, 0, 63, 64))))
                .isEqualTo(hex("""
                        0005 0007 06 70632e72616d
                        0000000000000010
                        0100000000000080 0100000000000000
                        0123456789abcdef"""));
    }

    @Test
    void aBitmapWithTheFirstAndLastPagesOfItsWordsSetRoundTripsToTheSameWords() {
        long pages = 1000;  // 16 words, the last one partly used
        long[] words = bitmapOf(pages, 0, 63, 64, pages - 1);
        ReturnPathMessage.ReceivedBitmap sent = new ReturnPathMessage.ReceivedBitmap("pc.ram", words.clone());
        byte[] bytes = encode(sent);

        // QEMU's bitmap_to_le: bit j of byte k is page 8k + j
        int bitmapAt = ReturnPathMessage.HEADER_LENGTH + 1 + "pc.ram".length() + Long.BYTES;
        byte[] bitmap = Arrays.copyOfRange(bytes, bitmapAt, bitmapAt + 16 * Long.BYTES);
        for (int page = 0; page < 16 * 64; page++) {
            boolean set = (bitmap[page / 8] & (1 << (page % 8))) != 0;
            assertThat(set).as("page " + page).isEqualTo(page == 0 || page == 63 || page == 64 || page == pages - 1);
        }

        for (List<ReturnPathMessage> received : decodeEveryWay(bytes)) {
            assertThat(received).containsExactly(sent);
            ReturnPathMessage.ReceivedBitmap got = (ReturnPathMessage.ReceivedBitmap) received.get(0);
            assertThat(got.block()).isEqualTo("pc.ram");
            assertThat(got.words()).containsExactly(words);
            assertThat(got.received(0)).isTrue();
            assertThat(got.received(63)).isTrue();
            assertThat(got.received(64)).isTrue();
            assertThat(got.received(pages - 1)).isTrue();
            assertThat(got.received(1)).isFalse();
            assertThat(got.received(pages - 2)).isFalse();
        }
    }

    @Test
    void recoveryMessagesRoundTripAmongTheOthersWholeByteByByteAndInRandomChunks() {
        List<ReturnPathMessage> sent = List.of(
                new ReturnPathMessage.Pong(1),
                new ReturnPathMessage.ReceivedBitmap("pc.ram", bitmapOf(4096, 0, 1, 2, 4000, 4095)),
                new ReturnPathMessage.ReceivedBitmap("small", new long[] {-1L}),
                new ReturnPathMessage.ResumeAck(1),
                new ReturnPathMessage.RequestPages("pc.ram", 8192, 4096),
                new ReturnPathMessage.Shut(0));

        for (List<ReturnPathMessage> received : decodeEveryWay(encode(sent.toArray(ReturnPathMessage[]::new)))) {
            assertThat(received).containsExactlyElementsOf(sent);
        }
    }

    @Test
    void aBitmapIsDeliveredOnlyWithItsEndMarker() {
        byte[] bytes = encode(new ReturnPathMessage.ReceivedBitmap("pc.ram", bitmapOf(256, 3)));
        List<ReturnPathMessage> received = new ArrayList<>();
        ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
        ByteBuf in = Unpooled.buffer();
        try {
            in.writeBytes(bytes, 0, bytes.length - 1);
            decoder.feed(in);
            assertThat(received).isEmpty();
            assertThat(in.readableBytes()).isEqualTo(bytes.length - 1);

            in.writeBytes(bytes, bytes.length - 1, 1);
            decoder.feed(in);
            assertThat(received).containsExactly(new ReturnPathMessage.ReceivedBitmap("pc.ram", bitmapOf(256, 3)));
            assertThat(in.readableBytes()).isZero();
        } finally {
            in.release();
        }
    }

    @Test
    void aBitmapOfExactlyTheLimitIsWaitedForAndOneWordMoreIsRefusedBeforeItsBytes() {
        byte[] header = hex("0005 0007 06 70632e72616d");
        List<ReturnPathMessage> received = new ArrayList<>();
        ByteBuf atLimit = Unpooled.buffer().writeBytes(header).writeLong(ReturnPathMessage.MAX_BITMAP_BYTES)
                .writeZero(4096);
        ByteBuf overLimit = Unpooled.buffer().writeBytes(header).writeLong(ReturnPathMessage.MAX_BITMAP_BYTES + 8L);
        try {
            new ReturnPathDecoder(received::add).feed(atLimit);
            assertThat(received).isEmpty();
            assertThat(atLimit.readerIndex()).isZero();

            assertThatThrownBy(() -> new ReturnPathDecoder(received::add).feed(overLimit))
                    .isInstanceOf(StreamFormatException.class)
                    .hasMessage("Return-path message RECV_BITMAP for block 'pc.ram' has a bitmap of 134217736 bytes,"
                            + " must be 1..134217728");
        } finally {
            atLimit.release();
            overLimit.release();
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0005 0007 05 70632e72616d | Return-path message RECV_BITMAP has bad length 7 for a block name of 5 bytes"
                    + " (expected 6)",
            "0005 0001 00 | Return-path message RECV_BITMAP has bad length 1 (expected 1 + block name length)",
            "0005 0007 06 70632e72616d 000000000000000c | Return-path message RECV_BITMAP for block 'pc.ram' has a"
                    + " bitmap of 12 bytes, not a multiple of 8",
            "0005 0007 06 70632e72616d 0000000000000000 | Return-path message RECV_BITMAP for block 'pc.ram' has a"
                    + " bitmap of 0 bytes, must be 1..134217728",
            "0005 0007 06 70632e72616d 8000000000000000 | Return-path message RECV_BITMAP for block 'pc.ram' has a"
                    + " bitmap of 9223372036854775808 bytes, must be 1..134217728",
            "0005 0007 06 70632e72616d 0000000000000008 ffffffffffffffff 0123456789abcdee | Return-path message"
                    + " RECV_BITMAP for block 'pc.ram' has end marker 0x0123456789abcdee (expected 0x0123456789abcdef)",
            "0006 0004 00000002 | Return-path message RESUME_ACK has value 2 (expected 1, MIGRATION_RESUME_ACK_VALUE)",
            "0006 0004 00000000 | Return-path message RESUME_ACK has value 0 (expected 1, MIGRATION_RESUME_ACK_VALUE)",
            "0006 0005          | Return-path message RESUME_ACK has bad length 5 (expected 4)",
    })
    void malformedRecoveryMessagesAreRefusedBeforeDelivery(String bytes, String message) {
        for (boolean byteByByte : new boolean[] {false, true}) {
            List<ReturnPathMessage> received = new ArrayList<>();
            ReturnPathDecoder decoder = new ReturnPathDecoder(received::add);
            byte[] stream = hex("0002 0004 00000007" + bytes);
            ByteBuf in = Unpooled.buffer();
            try {
                assertThatThrownBy(() -> {
                    for (int at = 0; at < stream.length; at++) {
                        in.writeByte(stream[at]);
                        if (byteByByte || at == stream.length - 1) {
                            decoder.feed(in);
                        }
                    }
                }).isInstanceOf(StreamFormatException.class).hasMessage(message);
                assertThat(received).containsExactly(new ReturnPathMessage.Pong(7));
                assertThatThrownBy(() -> decoder.feed(in)).isInstanceOf(IllegalStateException.class);
            } finally {
                in.release();
            }
        }
    }

    @Test
    void theEncoderRefusesWhatTheDecoderWouldRefuse() {
        ByteBuf out = Unpooled.buffer();
        try {
            assertThatThrownBy(() -> ReturnPathMessage.encode(out, new ReturnPathMessage.ResumeAck(2)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RESUME_ACK value must be 1");
            assertThatThrownBy(() -> ReturnPathMessage.encode(out, new ReturnPathMessage.ReceivedBitmap("pc.ram",
                    new long[0]))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'pc.ram'");
            assertThatThrownBy(() -> ReturnPathMessage.encode(out, new ReturnPathMessage.ReceivedBitmap("",
                    new long[1]))).isInstanceOf(IllegalArgumentException.class);
            assertThat(out.readableBytes()).isZero();
        } finally {
            out.release();
        }
    }
}
