package io.ferry.wire;

import static io.ferry.wire.TestStream.RAM_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One malformed stream per rule. Each is fed whole and byte by byte: both must fail with the same
 * message, and neither may report the offending record (only the valid ones before it).
 */
class StreamDecoderValidationTest {

    private static final int PAGE = RamFlag.PAGE.code();
    private static final int ZERO = RamFlag.ZERO.code();
    private static final int CONTINUE = RamFlag.CONTINUE.code();

    /** Feeds {@code stream} both ways; both report the same before refusing; returns the whole-stream run's listener. */
    private static RecordingListener assertRefused(byte[] stream, DecoderLimits limits, String message) {
        List<RecordingListener> listeners = Feeding.assertRefused(RecordingListener::new, stream, limits, message);
        assertThat(listeners.get(1).events).isEqualTo(listeners.get(0).events);
        return listeners.get(0);
    }

    private static RecordingListener assertRefused(byte[] stream, String message) {
        return assertRefused(stream, DecoderLimits.defaults(), message);
    }

    // ------------------------------------------------------------------ header and configuration

    @Test
    void wrongMagicIsRefused() {
        byte[] stream = Feeding.hex("51455600 00000003");
        assertRefused(stream, "Not a migration stream: magic 0x51455600, expected 0x5145564d (QEVM)");
    }

    @Test
    void version2IsRefusedAsObsolete() {
        assertRefused(Feeding.hex("5145564d 00000002 07"), "Migration stream version 2 is obsolete");
    }

    @Test
    void otherVersionsAreRefused() {
        assertRefused(Feeding.hex("5145564d 00000004"), "Unsupported migration stream version 4 (supported: 3)");
    }

    @Test
    void missingConfigurationSectionIsRefused() {
        assertRefused(Feeding.hex("5145564d 00000003 01 00000002"),
                "Configuration section missing (found byte 0x01 after the header)");
    }

    @Test
    void machineTypeOverTheLimitIsRefusedBeforeItIsBuffered() {
        byte[] stream = Feeding.hex("5145564d 00000003 07 7fffffff");
        assertRefused(stream, "Machine type name in the configuration section is 2147483647 bytes, limit 256");
        byte[] ferry = new TestStream().header().build();
        assertRefused(ferry, DecoderLimits.defaults().withMaxMachineTypeLength(8),
                "Machine type name in the configuration section is 15 bytes, limit 8");
    }

    @Test
    void listenerMayRefuseTheMachineType() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS).build();
        StreamDecoder decoder = new StreamDecoder(new RecordingListener() {
            @Override
            public void configuration(String machineType) {
                throw new StreamFormatException("Machine type received is '" + machineType + "' and local is 'pc'");
            }
        }, DecoderLimits.defaults());

        assertThatThrownBy(() -> Feeding.whole(decoder, stream)).hasMessage(
                "Machine type received is 'ferry-synthetic' and local is 'pc'");
        assertThat(decoder.failed()).isTrue();
    }

    @Test
    void configurationSubsectionsFromQemuAreChecked() {
        byte[] pageBits12 = new TestStream().header()
                .u8(StreamFormat.SUBSECTION).counted("configuration/target-page-bits").be32(1).be32(12)
                .u8(StreamFormat.SUBSECTION).counted("configuration/uuid").be32(1).bytes(new byte[16])
                .eof().build();
        RecordingListener listener = new RecordingListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        assertThat(Feeding.byteByByte(decoder, pageBits12)).isZero();
        assertThat(listener.events).containsExactly("configuration ferry-synthetic", "endOfStream");

        assertRefused(new TestStream().header()
                        .u8(StreamFormat.SUBSECTION).counted("configuration/target-page-bits").be32(1).be32(16).build(),
                "Received target page bits 16 but the local value is 12");
        assertRefused(new TestStream().header()
                        .u8(StreamFormat.SUBSECTION).counted("configuration/capabilities").be32(1).be32(1)
                        .counted("x-ignore-shared").build(),
                "Capability 'x-ignore-shared' is enabled on the source but not supported here");
        assertRefused(new TestStream().header()
                        .u8(StreamFormat.SUBSECTION).counted("configuration/colour").be32(1).build(),
                "Unknown subsection 'configuration/colour' of the configuration section");
        assertRefused(new TestStream().header().ramStart(TestStream.BLOCKS)
                        .u8(StreamFormat.SUBSECTION).counted("configuration/uuid").be32(1).bytes(new byte[16]).build(),
                "Subsection byte 0x05 at top level, outside the configuration section");
    }

    // ------------------------------------------------------------------ sections

    @ParameterizedTest
    @ValueSource(ints = {0x09, 0x42, 0x7f, 0xff})
    void unknownSectionTypeIsRefused(int type) {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS).u8(type).build();
        assertRefused(stream, String.format("Unknown section type 0x%02x", type));
    }

    @ParameterizedTest
    @CsvSource({"2, PART", "3, END"})
    void unknownSectionIdInPartOrEndIsRefused(byte type, String name) {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .u8(type).be32(7).word(PAGE).counted("pc.ram").pageData(1).build();
        RecordingListener listener = assertRefused(stream, "Unknown section id 7 in a " + name + " section");
        assertThat(listener.pages).isEmpty();
    }

    @Test
    void partBeforeAnyStartIsRefused() {
        byte[] stream = new TestStream().header().part(RAM_ID).build();
        assertRefused(stream, "Unknown section id 2 in a PART section");
    }

    @Test
    void unknownIdstrInAStartSectionIsRefused() {
        byte[] stream = new TestStream().header()
                .u8(StreamFormat.SECTION_START).be32(1).counted("timer").be32(0).be32(1).build();
        assertRefused(stream, "Unknown savevm section 'timer' instance 0");
    }

    @Test
    void unknownIdstrInAFullSectionIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .fullHeader(0, "timer", 0, 2).bytes(new byte[24]).footer(0).build();
        assertRefused(stream, "Unknown savevm section 'timer' instance 0");
    }

    @Test
    void ramAsAFullSectionIsRefused() {
        byte[] stream = new TestStream().header().fullHeader(2, "ram", 0, 4).build();
        assertRefused(stream, "Section 'ram' must be iterative (START/PART/END), got FULL");
    }

    @Test
    void ramInstanceOtherThanZeroIsRefused() {
        byte[] stream = new TestStream().header()
                .u8(StreamFormat.SECTION_START).be32(2).counted("ram").be32(1).be32(4).build();
        assertRefused(stream, "Unknown savevm section or instance 'ram' 1");
    }

    @Test
    void ramVersionOtherThanFourIsRefused() {
        byte[] stream = new TestStream().header()
                .u8(StreamFormat.SECTION_START).be32(2).counted("ram").be32(0).be32(5).build();
        assertRefused(stream, "savevm: unsupported version 5 for 'ram' v4");
    }

    @Test
    void deviceStateVersionAboveSupportedIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .fullHeader(3, StreamFormat.DEVICE_STATE_SECTION, 0, 2).be32(0).footer(3).build();
        RecordingListener listener = assertRefused(stream, "savevm: unsupported version 2 for 'ferry/device-state' v1");
        assertThat(listener.deviceStates).isEmpty();
    }

    @Test
    void duplicateRamStartIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS).ramStart(TestStream.BLOCKS).build();
        assertRefused(stream, "Duplicate START section for 'ram'");
    }

    @Test
    void partAfterEndIsRefused() {
        byte[] stream = TestStream.inPart().closePart().end(RAM_ID).closePart().part(RAM_ID)
                .page("pc.ram", 0, 1).closePart().build();
        RecordingListener listener = assertRefused(stream, "PART section for 'ram' (id 2) after its END section");
        assertThat(listener.pages).isEmpty();
    }

    @Test
    void missingFooterIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS).part(RAM_ID)
                .page("pc.ram", 0, 1).eos().part(RAM_ID).build();
        RecordingListener listener = assertRefused(stream, "Missing section footer for ram (found byte 0x02)");
        assertThat(listener.events).doesNotContain("endOfRamSection PART");
    }

    @Test
    void mismatchedFooterIsRefused() {
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1).eos().footer(3).build();
        RecordingListener listener = assertRefused(stream, "Mismatched section id in footer for ram: read 3, expected 2");
        assertThat(listener.pages).hasSize(1);
        assertThat(listener.events).doesNotContain("endOfRamSection PART");
    }

    @Test
    void deviceStateWithAMismatchedFooterIsNeverDelivered() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .fullHeader(3, StreamFormat.DEVICE_STATE_SECTION, 0, 1).be32(2).u8(0xaa).u8(0xbb).footer(4).build();
        RecordingListener listener = assertRefused(stream,
                "Mismatched section id in footer for ferry/device-state: read 4, expected 3");
        assertThat(listener.deviceStates).isEmpty();
    }

    @Test
    void fullSectionReusingTheRamSectionIdIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .fullHeader(RAM_ID, StreamFormat.DEVICE_STATE_SECTION, 0, 1).build();
        assertRefused(stream, "FULL section 'ferry/device-state' reuses section id 2 of 'ram'");
    }

    // ------------------------------------------------------------------ RAM records

    @ParameterizedTest
    @CsvSource({
            "0x0a, Unknown combination of migration flags: 0xa",
            "0x00, Unknown combination of migration flags: 0x0 (no flag set)",
            "0x20, Unknown combination of migration flags: 0x20 (CONTINUE alone)",
            "0x30, Unknown combination of migration flags: 0x30 (CONTINUE only goes with ZERO or PAGE)",
            "0x01, Unknown combination of migration flags: 0x1 (FULL is retired or unsupported)",
            // XBZRLE is a record: a page's bytes where its body should be are refused by their first byte
            "0x40, 'WRONG_ENCODING: not an XBZRLE encoding: encoding byte 0x02 (XBZRLE page at 0x1000 of RAM block'",
            "0x60, 'WRONG_ENCODING: not an XBZRLE encoding: encoding byte 0x06 (XBZRLE page at 0x1000 of RAM block'",
            "0x80, Unknown combination of migration flags: 0x80 (HOOK is retired or unsupported)",
            "0x100, Unknown combination of migration flags: 0x100 (COMPRESS_PAGE is retired or unsupported)",
            "0x200, MULTIFD_FLUSH word 0x0000000000001200 has a non-zero address",
            "0x18, Unknown combination of migration flags: 0x18",
    })
    void unknownFlagCombinationsAreRefused(String flags, String message) {
        int bits = Integer.decode(flags);
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1)
                .word(0x1000L | bits).counted("pc.ram").pageData(2).build();
        RecordingListener listener = assertRefused(stream, message);
        assertThat(listener.pages).hasSize(1);
    }

    @Test
    void aMultifdFlushOnAStreamWithoutMultifdChannelsIsRefused() {
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1).word(RamFlag.MULTIFD_FLUSH.code()).build();
        RecordingListener listener = assertRefused(stream, "MULTIFD_FLUSH on a stream without multifd channels");
        assertThat(listener.pages).hasSize(1);
    }

    @Test
    void aHeldMultifdFlushStopsTheDecoderUntilReleased() {
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1).word(RamFlag.MULTIFD_FLUSH.code())
                .page("pc.ram", 1, 2).build();
        boolean[] proceed = {false};
        RecordingListener listener = new RecordingListener() {
            @Override
            public boolean multifdFlush() {
                events.add("multifdFlush");
                return proceed[0];
            }
        };
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
        io.netty.buffer.ByteBuf in = io.netty.buffer.Unpooled.wrappedBuffer(stream);
        decoder.feed(in);
        assertThat(decoder.held()).isTrue();
        assertThat(listener.pages).hasSize(1);
        int left = in.readableBytes();
        decoder.feed(in);   // still held: nothing more is read
        assertThat(in.readableBytes()).isEqualTo(left);
        decoder.release();
        decoder.feed(in);
        assertThat(listener.pages).hasSize(2);
        assertThat(listener.events).containsSubsequence("multifdFlush", listener.pages.get(1));
    }

    @Test
    void continueBeforeAnyBlockIsRefused() {
        byte[] stream = TestStream.inPart().word(PAGE | CONTINUE).pageData(1).build();
        RecordingListener listener = assertRefused(stream,
                "Ack, bad migration stream! RAM record with CONTINUE before any block was named");
        assertThat(listener.pages).isEmpty();
    }

    @Test
    void unknownBlockIsRefused() {
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1).word(PAGE).counted("vga.vram").pageData(2).build();
        RecordingListener listener = assertRefused(stream, "Unknown ramblock \"vga.vram\", cannot accept migration");
        assertThat(listener.pages).hasSize(1);
    }

    @Test
    void blockNameThatIsOnlyAPrefixIsUnknown() {
        byte[] stream = TestStream.inPart().word(ZERO).counted("pc.ra").u8(0).build();
        assertRefused(stream, "Unknown ramblock \"pc.ra\"");
    }

    @Test
    void pageOffsetOutsideItsBlockIsRefused() {
        // "small" has 2 pages: offset 0x2000 is the first byte past it
        byte[] stream = TestStream.inPart().page("small", 1, 1).word(0x2000L | PAGE | CONTINUE).pageData(2).build();
        RecordingListener listener = assertRefused(stream, "Illegal RAM offset 0x2000 in block 'small' of 0x2000 bytes");
        assertThat(listener.pages).singleElement().asString().startsWith("page 1 1 ");
    }

    @Test
    void zeroPageOffsetOutsideItsBlockIsRefused() {
        byte[] stream = TestStream.inPart().word(0x7fff_ffff_f000L | ZERO).counted("pc.ram").u8(0).build();
        RecordingListener listener = assertRefused(stream, "Illegal RAM offset 0x7ffffffff000 in block 'pc.ram'");
        assertThat(listener.pages).isEmpty();
    }

    @Test
    void negativeOffsetIsOutsideEveryBlock() {
        byte[] stream = TestStream.inPart().word(0xffff_ffff_ffff_f000L | ZERO).counted("pc.ram").u8(0).build();
        assertRefused(stream, "Illegal RAM offset 0xfffffffffffff000 in block 'pc.ram'");
    }

    @ParameterizedTest
    @ValueSource(longs = {0x1408L, 0x1808L, 0x1c02L})
    void unalignedPageOffsetIsRefused(long word) {
        byte[] stream = TestStream.inPart().zero("pc.ram", 0).word(word).counted("pc.ram").pageData(1).build();
        RecordingListener listener = assertRefused(stream, String.format(
                "RAM record address 0x%x is not aligned to the 4096-byte page (word 0x%016x)", word & ~0x3ffL, word));
        assertThat(listener.pages).containsExactly("zero 0 0 0");
    }

    @Test
    void pageRecordBeforeTheBlockListIsRefused() {
        byte[] stream = new TestStream().header()
                .u8(StreamFormat.SECTION_START).be32(RAM_ID).counted("ram").be32(0).be32(4)
                .word(PAGE).counted("pc.ram").pageData(1).build();
        RecordingListener listener = assertRefused(stream, "RAM page record before the RAM block list");
        assertThat(listener.pages).isEmpty();
    }

    @Test
    void startWithoutABlockListIsRefused() {
        byte[] stream = new TestStream().header()
                .u8(StreamFormat.SECTION_START).be32(RAM_ID).counted("ram").be32(0).be32(4).eos().footer(RAM_ID).build();
        assertRefused(stream, "RAM START section ended without a RAM block list");
    }

    @Test
    void eosWithAnAddressIsRefused() {
        byte[] stream = TestStream.inPart().word(0x5000L | RamFlag.EOS.code()).build();
        assertRefused(stream, "RAM end-of-section word 0x0000000000005010 has a non-zero address");
    }

    @Test
    void blockListInAPartSectionIsRefused() {
        byte[] stream = TestStream.inPart().word(0x1000L | RamFlag.MEM_SIZE.code()).counted("x").be64(0x1000).build();
        assertRefused(stream, "RAM block list in a PART section (only START may carry it)");
    }

    // ------------------------------------------------------------------ block list

    private static TestStream startWithList(long total) {
        return new TestStream().header()
                .u8(StreamFormat.SECTION_START).be32(RAM_ID).counted("ram").be32(0).be32(4)
                .word(total | RamFlag.MEM_SIZE.code());
    }

    @Test
    void blockListLargerThanItsTotalIsRefused() {
        byte[] stream = startWithList(0x3000).counted("pc.ram").be64(0x2000).counted("small").be64(0x2000).build();
        RecordingListener listener = assertRefused(stream, "RAM block list does not add up: block 'small' of 0x2000"
                + " bytes exceeds the 0x1000 bytes left of the announced total 0x3000");
        assertThat(listener.blocks).isNull();
    }

    @Test
    void blockListShorterThanItsTotalIsRefused() {
        byte[] stream = startWithList(0x5000).counted("pc.ram").be64(0x2000).eos().footer(RAM_ID).build();
        RecordingListener listener = assertRefused(stream, "RAM block list does not add up: 0x3000 of the announced"
                + " 0x5000 bytes are not covered by any block");
        assertThat(listener.blocks).isNull();
    }

    @Test
    void moreBlocksThanTheLimitAreRefused() {
        byte[] stream = startWithList(0x3000).counted("a").be64(0x1000).counted("b").be64(0x1000)
                .counted("c").be64(0x1000).build();
        RecordingListener listener = assertRefused(stream, DecoderLimits.defaults().withMaxRamBlocks(2),
                "RAM block list has more than 2 blocks");
        assertThat(listener.blocks).isNull();
    }

    @Test
    void blockWithAnUnalignedLengthIsRefused() {
        byte[] stream = startWithList(0x2000).counted("pc.ram").be64(0x1800).build();
        assertRefused(stream, "RAM block 'pc.ram' has length 0x1800, not a positive multiple of 4096");
    }

    @Test
    void duplicateBlockIsRefused() {
        byte[] stream = startWithList(0x2000).counted("a").be64(0x1000).counted("a").be64(0x1000).build();
        assertRefused(stream, "Duplicate RAM block 'a' in the block list");
    }

    @Test
    void listenerMayRefuseTheBlocks() {
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1).build();
        StreamDecoder decoder = new StreamDecoder(new RecordingListener() {
            @Override
            public void ramBlocks(List<RamBlockInfo> blocks) {
                throw new StreamFormatException("Unknown ramblock \"small\", cannot accept migration");
            }

            @Override
            public void page(int blockIndex, long pageIndex, ByteBuf data) {
                throw new AssertionError("page after refusal");
            }
        }, DecoderLimits.defaults());

        assertThatThrownBy(() -> Feeding.whole(decoder, stream)).hasMessageContaining("\"small\"");
    }

    // ------------------------------------------------------------------ limits on strings and payloads

    @Test
    void blockIdstrOverTheLimitIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS).build();
        assertRefused(stream, DecoderLimits.defaults().withMaxIdstrLength(5), "RAM block idstr is 6 bytes, limit 5");
    }

    @Test
    void sectionIdstrOverTheLimitIsRefused() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .deviceState(3, new byte[1]).build();
        assertRefused(stream, DecoderLimits.defaults().withMaxIdstrLength(16), "section idstr is 18 bytes, limit 16");
    }

    @Test
    void emptyIdstrIsRefused() {
        byte[] stream = new TestStream().header().u8(StreamFormat.SECTION_FULL).be32(1).u8(0).build();
        assertRefused(stream, "Empty section idstr");
    }

    @Test
    void deviceStateOverTheLimitIsRefusedBeforeItIsBuffered() {
        byte[] stream = new TestStream().header().ramStart(TestStream.BLOCKS)
                .fullHeader(3, StreamFormat.DEVICE_STATE_SECTION, 0, 1).be32(17).build();
        RecordingListener listener = assertRefused(stream, DecoderLimits.defaults().withMaxDeviceStateBytes(16),
                "Device state of section 'ferry/device-state' is 17 bytes, limit 16");
        assertThat(listener.deviceStates).isEmpty();
    }

    @Test
    void pluggableDevicePayloadOverTheLimitIsRefused() {
        byte[] measured = new TestStream().header().fullHeader(0, "timer", 0, 2).bytes(new byte[40]).build();
        RecordingListener fixed = new RecordingListener();
        fixed.formats.put("timer", DeviceSectionFormat.fixed(33));
        StreamDecoder decoder = new StreamDecoder(fixed, DecoderLimits.defaults().withMaxDeviceStateBytes(32));
        assertThatThrownBy(() -> Feeding.whole(decoder, measured))
                .hasMessageContaining("Device state of section 'timer' is 33 bytes, limit 32");

        RecordingListener neverSure = new RecordingListener();
        neverSure.formats.put("timer", (in, version) -> DeviceSectionFormat.NEED_MORE);
        StreamDecoder undecided = new StreamDecoder(neverSure, DecoderLimits.defaults().withMaxDeviceStateBytes(32));
        assertThatThrownBy(() -> Feeding.byteByByte(undecided, measured))
                .hasMessageContaining("Device state of section 'timer' exceeds the limit of 32 bytes");
    }

    @Test
    void vmDescriptionOverTheLimitIsRefused() {
        byte[] stream = new TestStream().header().eof().u8(StreamFormat.VMDESCRIPTION).be32(1000).build();
        assertRefused(stream, DecoderLimits.defaults().withMaxVmDescriptionBytes(999),
                "VM description is 1000 bytes, limit 999");
    }

    // ------------------------------------------------------------------ commands

    @Test
    void commandsOtherThanReturnPathAndPingAreRefused() {
        assertRefused(new TestStream().header().u8(StreamFormat.COMMAND).be16(3).be16(16).be64(4096).be64(4096).build(),
                "MIG_CMD POSTCOPY_ADVISE (0x3) is not supported");
        assertRefused(new TestStream().header().u8(StreamFormat.COMMAND).be16(3).be16(16).be64(2 << 20).be64(4096)
                .build(), "Postcopy needs matching RAM page sizes");
        assertRefused(new TestStream().header().u8(StreamFormat.COMMAND).be16(0x99).be16(0).build(),
                "MIG_CMD 0x99 unknown");
        assertRefused(new TestStream().header().u8(StreamFormat.COMMAND).be16(StreamFormat.CMD_PING).be16(8).build(),
                "MIG_CMD PING has bad length 8 (expected 4)");
        assertRefused(new TestStream().header().u8(StreamFormat.COMMAND).be16(1).be16(4).build(),
                "MIG_CMD OPEN_RETURN_PATH has bad length 4 (expected 0)");
    }

    // ------------------------------------------------------------------ end of stream

    @Test
    void dataAfterEofIsRefused() {
        byte[] stream = TestStream.inPart().closePart().eof().u8(StreamFormat.SECTION_PART).build();
        RecordingListener listener = assertRefused(stream, "Unexpected data after EOF: byte 0x02");
        assertThat(listener.events).endsWith("endOfStream");
    }

    @Test
    void dataAfterTheVmDescriptionIsRefused() {
        byte[] stream = new TestStream().header().eof().u8(StreamFormat.VMDESCRIPTION).be32(2).u8('{').u8('}')
                .u8(0).build();
        assertRefused(stream, "Unexpected data after the end of the migration stream");
    }

    @Test
    void truncatedStreamLeavesThePartialRecordUnreadAndFailsAtEndOfInput() {
        byte[] whole = TestStream.inPart().page("pc.ram", 0, 1).page("pc.ram", 1, 2).build();
        byte[] truncated = java.util.Arrays.copyOf(whole, whole.length - 1);
        RecordingListener listener = new RecordingListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        int unread = Feeding.byteByByte(decoder, truncated);

        assertThat(unread).isEqualTo(8 + StreamFormat.PAGE_SIZE - 1); // the second page, minus one byte
        assertThat(listener.pages).hasSize(1);
        assertThat(decoder.finished()).isFalse();
        assertThatThrownBy(decoder::endOfInput).isInstanceOf(StreamFormatException.class)
                .hasMessage("Migration stream truncated in state RAM_RECORD of PART section 'ram' after "
                        + (whole.length - 8 - StreamFormat.PAGE_SIZE) + " bytes");
    }

    @Test
    void endOfInputAfterEofIsFine() {
        byte[] stream = TestStream.inPart().closePart().eof().build();
        StreamDecoder decoder = new StreamDecoder(new RecordingListener(), DecoderLimits.defaults());
        Feeding.whole(decoder, stream);
        decoder.endOfInput();
        assertThat(decoder.finished()).isTrue();
    }

    @Test
    void failedDecoderRefusesMoreInput() {
        StreamDecoder decoder = new StreamDecoder(new RecordingListener(), DecoderLimits.defaults());
        ByteBuf bad = Unpooled.wrappedBuffer(Feeding.hex("00000000"));
        try {
            assertThatThrownBy(() -> decoder.feed(bad)).isInstanceOf(StreamFormatException.class);
            assertThatThrownBy(() -> decoder.feed(bad)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already failed");
        } finally {
            bad.release();
        }
    }

    @Test
    void errorsNameTheStreamOffsetOfTheBadElement() {
        byte[] good = TestStream.inPart().page("pc.ram", 0, 1).build();
        byte[] stream = TestStream.inPart().page("pc.ram", 0, 1).word(0x9000L | PAGE | CONTINUE).pageData(0).build();
        assertRefused(stream, "(stream offset " + good.length + ")");
    }
}
