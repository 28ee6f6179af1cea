package io.ferry.wire;

import static io.ferry.wire.StreamFormat.PAGE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * XBZRLE pages ({@link Xbzrle}) and the body of their RAM record ({@link XbzrleRecord}) against
 * QEMU's migration/xbzrle.c and migration/ram.c: vectors worked out by hand, every output compared
 * with a line-by-line port of {@code xbzrle_encode_buffer} (word-at-a-time included), round trips,
 * then one malformed input per {@link XbzrleError}, refused by name, with guard bytes around the
 * page to show nothing is written outside it.
 */
class XbzrleCodecTest {

    private static final HexFormat HEX = HexFormat.ofDelimiter(" ");
    private static final byte GUARD = (byte) 0xEE;
    private static final int GUARD_BYTES = 32;

    // ------------------------------------------------------------------ fixtures

    private static byte[] hex(String bytes) {
        return HEX.parseHex(bytes);
    }

    private static byte[] counting(int length) {
        byte[] page = new byte[length];
        for (int i = 0; i < length; i++) {
            page[i] = (byte) i;
        }
        return page;
    }

    /** {@code page}'s bytes as the readable bytes of a buffer that does not start at index 0. */
    private static ByteBuf offsetBuf(byte[] page) {
        ByteBuf buf = Unpooled.buffer(page.length + 3);
        buf.writeBytes(new byte[3]).skipBytes(3);
        return buf.writeBytes(page);
    }

    /** Encodes with {@link Xbzrle#encode}; null for -1 (after checking {@code out} was left alone), {} for 0. */
    private static byte[] encode(byte[] oldPage, byte[] newPage, int limit) {
        // room for the limit and not a byte more: writing past it would throw
        ByteBuf out = Unpooled.buffer(5, 5 + limit).writeBytes(hex("de ad be ef 00")).skipBytes(5);
        int length = Xbzrle.encode(offsetBuf(oldPage), offsetBuf(newPage), out, limit);
        assertThat(out.readerIndex()).isEqualTo(5);
        assertThat(ByteBufUtil.getBytes(out, 0, 5)).containsExactly(hex("de ad be ef 00"));
        if (length < 0) {
            assertThat(length).isEqualTo(-1);
            assertThat(out.readableBytes()).isZero();
            return null;
        }
        assertThat(out.readableBytes()).isEqualTo(length);
        return Feeding.drain(out);
    }

    /** A page of {@code page.length} bytes with guard bytes on both sides; its readable bytes are the page. */
    private static ByteBuf guarded(byte[] page) {
        ByteBuf buf = Unpooled.buffer(GUARD_BYTES + page.length + GUARD_BYTES);
        buf.writeBytes(filled(GUARD_BYTES, GUARD)).writeBytes(page).writeBytes(filled(GUARD_BYTES, GUARD));
        return buf.setIndex(GUARD_BYTES, GUARD_BYTES + page.length);
    }

    private static byte[] filled(int length, byte value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, value);
        return bytes;
    }

    /** The page's bytes, after checking the guards around it were not touched. */
    private static byte[] pageOf(ByteBuf guarded) {
        int length = guarded.readableBytes();
        byte[] all = new byte[guarded.capacity()];
        guarded.getBytes(0, all);
        assertThat(Arrays.copyOfRange(all, 0, GUARD_BYTES)).containsOnly(GUARD);
        assertThat(Arrays.copyOfRange(all, GUARD_BYTES + length, all.length)).containsOnly(GUARD);
        assertThat(guarded.readerIndex()).isEqualTo(GUARD_BYTES);
        assertThat(guarded.writerIndex()).isEqualTo(GUARD_BYTES + length);
        return Arrays.copyOfRange(all, GUARD_BYTES, GUARD_BYTES + length);
    }

    /** Applies {@code encoding} to a copy of {@code oldPage} and returns the result. */
    private static byte[] decode(byte[] encoding, byte[] oldPage) {
        ByteBuf page = guarded(oldPage);
        ByteBuf encoded = offsetBuf(encoding);
        Xbzrle.decode(encoded, page);
        assertThat(encoded.readableBytes()).isZero();
        return pageOf(page);
    }

    // ------------------------------------------------------------------ QEMU's encoder, ported line by line

    /**
     * {@code xbzrle_encode_buffer} as QEMU has it, word-at-a-time and all ({@code long} of 8 bytes,
     * so {@code slen} a multiple of 8 as QEMU asserts); {@code uleb128_encode_small} for lengths.
     */
    static int qemuEncode(byte[] oldBuf, byte[] newBuf, int slen, byte[] dst, int dlen) {
        int zrunLen = 0;
        int nzrunLen = 0;
        int d = 0;
        int i = 0;
        while (i < slen) {
            if (d + 2 > dlen) {
                return -1;
            }
            int res = (slen - i) % 8;
            while (res != 0 && oldBuf[i] == newBuf[i]) {
                zrunLen++;
                i++;
                res--;
            }
            if (res == 0) {
                while (i < slen && word(oldBuf, i) == word(newBuf, i)) {
                    i += 8;
                    zrunLen += 8;
                }
                while (i < slen && oldBuf[i] == newBuf[i]) {
                    zrunLen++;
                    i++;
                }
            }
            if (zrunLen == slen) {
                return 0;
            }
            if (i == slen) {
                return d;
            }
            d += qemuUleb128(dst, d, zrunLen);
            zrunLen = 0;
            int nzrunStart = i;
            if (d + 2 > dlen) {
                return -1;
            }
            res = (slen - i) % 8;
            while (res != 0 && oldBuf[i] != newBuf[i]) {
                i++;
                nzrunLen++;
                res--;
            }
            if (res == 0) {
                long mask = 0x0101010101010101L;
                while (i < slen) {
                    long xor = word(oldBuf, i) ^ word(newBuf, i);
                    if (((xor - mask) & ~xor & (mask << 7)) != 0) {
                        while (oldBuf[i] != newBuf[i]) {
                            nzrunLen++;
                            i++;
                        }
                        break;
                    }
                    i += 8;
                    nzrunLen += 8;
                }
            }
            d += qemuUleb128(dst, d, nzrunLen);
            if (d + nzrunLen > dlen) {
                return -1;
            }
            System.arraycopy(newBuf, nzrunStart, dst, d, nzrunLen);
            d += nzrunLen;
            nzrunLen = 0;
        }
        return d;
    }

    private static long word(byte[] buf, int at) {
        return ByteBuffer.wrap(buf, at, 8).order(ByteOrder.nativeOrder()).getLong();
    }

    private static int qemuUleb128(byte[] out, int at, int n) {
        assertThat(n).isLessThanOrEqualTo(0x3FFF);
        if (n < 0x80) {
            out[at] = (byte) n;
            return 1;
        }
        out[at] = (byte) ((n & 0x7F) | 0x80);
        out[at + 1] = (byte) (n >> 7);
        return 2;
    }

    /** QEMU's output for these inputs: null for -1, {} for 0. */
    private static byte[] qemu(byte[] oldPage, byte[] newPage, int limit) {
        byte[] dst = new byte[limit];
        int length = qemuEncode(oldPage, newPage, oldPage.length, dst, limit);
        return length < 0 ? null : Arrays.copyOf(dst, length);
    }

    // ------------------------------------------------------------------ known vectors

    /**
     * Worked out by hand from xbzrle_encode_buffer; each also checked against the port.
     *
     * <ul>
     *   <li>"two bytes changed": pages of 16 bytes 00..0f, bytes 4 and 5 become 44 55. Zero run of
     *       4 → {@code 04}; data run of 2 → {@code 02}, then the NEW bytes {@code 44 55} (not their
     *       XOR with the old ones, 40 50); bytes 6 to 15 are unchanged and a trailing zero run is
     *       not sent.</li>
     *   <li>"first and last byte": 8 zero bytes, byte 0 becomes aa and byte 7 bb. The page starts
     *       with a change, so a zero run of 0 comes first → {@code 00}; data run {@code 01 aa};
     *       zero run of 6 → {@code 06}; data run {@code 01 bb}; the page ends there.</li>
     *   <li>"two-byte lengths": 512 bytes 00..ff 00..ff, bytes 200 to 329 replaced by 130 bytes of
     *       5a. Zero run of 200 = 0x48 + 1 × 128 → {@code c8 01} (low seven bits with the
     *       continuation bit, then 200 >> 7); data run of 130 = 0x02 + 1 × 128 → {@code 82 01};
     *       then the 130 bytes.</li>
     *   <li>"uleb128 boundary": 256 zero bytes, byte 127 becomes 01 and byte 255 ff. Zero run of
     *       127, the largest one-byte length → {@code 7f}; {@code 01 01}; zero run of 127 (bytes
     *       128 to 254) → {@code 7f}; {@code 01 ff}.</li>
     *   <li>"changed to zero": 8 bytes of 11, bytes 2 and 3 become 00: the data run carries the
     *       zeros themselves → {@code 02 02 00 00}.</li>
     * </ul>
     */
    static Stream<Arguments> vectors() {
        byte[] counting16 = counting(16);
        byte[] twoChanged = counting(16);
        twoChanged[4] = 0x44;
        twoChanged[5] = 0x55;
        byte[] ends = new byte[8];
        ends[0] = (byte) 0xAA;
        ends[7] = (byte) 0xBB;
        byte[] counting512 = counting(512);
        byte[] long5a = counting(512);
        Arrays.fill(long5a, 200, 330, (byte) 0x5A);
        byte[] boundary = new byte[256];
        boundary[127] = 0x01;
        boundary[255] = (byte) 0xFF;
        byte[] elevens = filled(8, (byte) 0x11);
        byte[] zeroed = elevens.clone();
        zeroed[2] = 0;
        zeroed[3] = 0;
        return Stream.of(
                Arguments.of("two bytes changed", counting16, twoChanged, hex("04 02 44 55")),
                Arguments.of("first and last byte", new byte[8], ends, hex("00 01 aa 06 01 bb")),
                Arguments.of("two-byte lengths", counting512, long5a,
                        concat(hex("c8 01 82 01"), filled(130, (byte) 0x5A))),
                Arguments.of("uleb128 boundary", new byte[256], boundary, hex("7f 01 01 7f 01 ff")),
                Arguments.of("changed to zero", elevens, zeroed, hex("02 02 00 00")));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void knownVectorsEncodeAndDecodeByteExactly(String name, byte[] oldPage, byte[] newPage, byte[] expected) {
        assertThat(encode(oldPage, newPage, PAGE_SIZE)).containsExactly(expected);
        assertThat(qemu(oldPage, newPage, PAGE_SIZE)).containsExactly(expected);
        assertThat(decode(expected, oldPage)).containsExactly(newPage);
    }

    @Test
    void decodingReplacesOnlyTheDataRuns() {
        // zero run 2, data 2 (aa bb), zero run 3, data 1 (cc): bytes 0-1, 4-6 and 8-15 kept as they were
        byte[] page = decode(hex("02 02 aa bb 03 01 cc"), counting(16));
        assertThat(page).containsExactly(hex("00 01 aa bb 04 05 06 cc 08 09 0a 0b 0c 0d 0e 0f"));
    }

    @Test
    void decodingTakesWhatQemuTakes() {
        // An empty encoding changes nothing; a two-byte length that fits in one is still a length
        // (uleb128_decode_small does not insist on the shortest form); a first zero run of 0.
        assertThat(decode(new byte[0], counting(16))).containsExactly(counting(16));
        assertThat(decode(hex("80 00 81 00 99"), counting(8))).containsExactly(hex("99 01 02 03 04 05 06 07"));
        // the last data run may end exactly at the page's end
        assertThat(decode(hex("0f 01 99"), counting(16))).endsWith((byte) 0x99);
    }

    // ------------------------------------------------------------------ encoder cases

    @Test
    void identicalPagesEncodeToZeroAndWriteNothing() {
        byte[] page = counting(PAGE_SIZE);
        assertThat(encode(page, page.clone(), PAGE_SIZE)).isEmpty();
        assertThat(encode(new byte[0], new byte[0], 0)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 8, 9, 15, 16, 127, 128, 129, 2047, 2048, 4087, 4088, 4089, 4094, 4095})
    void oneChangedByteAtEveryKindOfPosition(int at) {
        byte[] oldPage = counting(PAGE_SIZE);
        byte[] newPage = oldPage.clone();
        newPage[at] ^= (byte) 0x80;
        // zero run of `at` (one byte below 128, else two), data run of 1, the new byte
        byte[] zrun = at < 0x80 ? new byte[] {(byte) at} : new byte[] {(byte) (at & 0x7F | 0x80), (byte) (at >> 7)};
        byte[] expected = concat(zrun, new byte[] {1, newPage[at]});
        assertThat(encode(oldPage, newPage, PAGE_SIZE)).containsExactly(expected);
        assertThat(qemu(oldPage, newPage, PAGE_SIZE)).containsExactly(expected);
        assertThat(decode(expected, oldPage)).containsExactly(newPage);
    }

    @Test
    void allDifferentPageOverflowsAtThePageSize() {
        // save_xbzrle_page's limit is TARGET_PAGE_SIZE: 1 + 2 + 4096 bytes do not fit, the page goes plain
        byte[] oldPage = counting(PAGE_SIZE);
        byte[] newPage = new byte[PAGE_SIZE];
        for (int i = 0; i < PAGE_SIZE; i++) {
            newPage[i] = (byte) ~oldPage[i];
        }
        assertThat(encode(oldPage, newPage, PAGE_SIZE)).isNull();
        assertThat(qemu(oldPage, newPage, PAGE_SIZE)).isNull();
        // with room: zero run 0, data run 4096 = 0x00 + 32 × 128 → 80 20, the page
        byte[] expected = concat(hex("00 80 20"), newPage);
        assertThat(encode(oldPage, newPage, PAGE_SIZE + 3)).containsExactly(expected);
        assertThat(decode(expected, oldPage)).containsExactly(newPage);
    }

    /**
     * Where a 4 KiB page stops paying, by QEMU's rule (limit = TARGET_PAGE_SIZE), worked out by
     * hand and checked against the port: the first 3 bytes kept, the other 4093 changed is
     * {@code 03 fd 1f} and 4093 bytes, exactly 4096, so it is still sent as XBZRLE (4099 bytes with
     * its header, 3 more than the page); 2 kept is {@code 02 fe 1f} and 4094 bytes, 4097: overflow,
     * sent plain. A page changed everywhere but every 8th byte costs 9 bytes per 8 and overflows
     * well before its end.
     */
    @Test
    void pagesChangedAlmostEverywhereOverflowAsInQemu() {
        byte[] oldPage = counting(PAGE_SIZE);
        byte[] threeKept = oldPage.clone();
        byte[] twoKept = oldPage.clone();
        for (int i = 2; i < PAGE_SIZE; i++) {
            twoKept[i] = (byte) ~oldPage[i];
            if (i >= 3) {
                threeKept[i] = (byte) ~oldPage[i];
            }
        }
        byte[] expected = concat(hex("03 fd 1f"), Arrays.copyOfRange(threeKept, 3, PAGE_SIZE));
        assertThat(expected).hasSize(PAGE_SIZE);
        assertThat(encode(oldPage, threeKept, PAGE_SIZE)).containsExactly(expected);
        assertThat(qemu(oldPage, threeKept, PAGE_SIZE)).containsExactly(expected);
        assertThat(decode(expected, oldPage)).containsExactly(threeKept);

        assertThat(encode(oldPage, twoKept, PAGE_SIZE)).isNull();
        assertThat(qemu(oldPage, twoKept, PAGE_SIZE)).isNull();

        byte[] strided = oldPage.clone();
        for (int i = 0; i < PAGE_SIZE; i++) {
            if (i % 8 != 7) {
                strided[i] = (byte) ~oldPage[i];
            }
        }
        assertThat(encode(oldPage, strided, PAGE_SIZE)).isNull();
        assertThat(qemu(oldPage, strided, PAGE_SIZE)).isNull();
        // with room it is 00 07 <7 bytes>, then 01 07 <7 bytes> for each 8 after: 9 bytes per 8, 4608
        // in all (the page's last byte is unchanged, a trailing zero run that is not sent)
        byte[] roomy = encode(oldPage, strided, 2 * PAGE_SIZE);
        assertThat(roomy).hasSize(9 * (PAGE_SIZE / 8)).startsWith(concat(hex("00 07"),
                Arrays.copyOfRange(strided, 0, 7)));
        assertThat(qemu(oldPage, strided, 2 * PAGE_SIZE)).containsExactly(roomy);
        assertThat(decode(roomy, oldPage)).containsExactly(strided);
    }

    @Test
    void limitsAreQemusToTheLetter() {
        byte[] oldPage = counting(16);
        byte[] newPage = oldPage.clone();
        newPage[4] = 0x44;
        newPage[5] = 0x55;                      // encodes to 04 02 44 55
        assertThat(encode(oldPage, newPage, 1)).isNull();         // two free bytes wanted before the first zero run
        assertThat(encode(oldPage, newPage, 3)).isNull();         // 04 02 then no room for 44 55
        // Two free bytes are wanted before every zero run, even the trailing one that is not sent:
        // the 4 bytes fit in 4 or 5, yet QEMU says -1 and sends the page plain.
        assertThat(encode(oldPage, newPage, 4)).isNull();
        assertThat(encode(oldPage, newPage, 5)).isNull();
        assertThat(encode(oldPage, newPage, 6)).containsExactly(hex("04 02 44 55"));
        // An encoding whose last data run ends the page needs no more than its own length.
        byte[] ends = new byte[8];
        ends[0] = (byte) 0xAA;
        ends[7] = (byte) 0xBB;
        assertThat(encode(new byte[8], ends, 6)).containsExactly(hex("00 01 aa 06 01 bb"));
        assertThat(encode(new byte[8], ends, 5)).isNull();
        // ... and before the pages are found equal
        assertThat(encode(oldPage, oldPage.clone(), 1)).isNull();
        assertThat(encode(oldPage, oldPage.clone(), 2)).isEmpty();
        for (int limit = 0; limit <= 8; limit++) {
            assertThat(encode(oldPage, newPage, limit)).as("limit %d", limit).isEqualTo(qemu(oldPage, newPage, limit));
            assertThat(encode(oldPage, oldPage, limit)).as("limit %d", limit).isEqualTo(qemu(oldPage, oldPage, limit));
        }
    }

    @Test
    void encoderRefusesPagesItCannotEncode() {
        ByteBuf out = Unpooled.buffer();
        assertThatThrownBy(() -> Xbzrle.encode(offsetBuf(new byte[8]), offsetBuf(new byte[16]), out, PAGE_SIZE))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] tooLong = new byte[Xbzrle.MAX_RUN + 1];
        assertThatThrownBy(() -> Xbzrle.encode(offsetBuf(tooLong), offsetBuf(tooLong), out, PAGE_SIZE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Xbzrle.encode(offsetBuf(new byte[8]), offsetBuf(new byte[8]), out, -1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(out.writerIndex()).isZero();
    }

    // ------------------------------------------------------------------ random pages

    /** A page changed in one of four ways: a few bytes, a few runs, densely, or rewritten with runs of old bytes. */
    private static byte[] changed(byte[] oldPage, Random random) {
        byte[] page = oldPage.clone();
        switch (random.nextInt(4)) {
            case 0 -> {
                for (int n = random.nextInt(8); n >= 0; n--) {
                    page[random.nextInt(page.length)] = (byte) random.nextInt(256);
                }
            }
            case 1 -> {
                for (int n = random.nextInt(6); n >= 0; n--) {
                    int from = random.nextInt(page.length);
                    int to = Math.min(page.length, from + 1 + random.nextInt(400));
                    for (int i = from; i < to; i++) {
                        page[i] = (byte) random.nextInt(256);
                    }
                }
            }
            case 2 -> {
                for (int i = 0; i < page.length; i++) {
                    if (random.nextInt(3) == 0) {
                        page[i] = (byte) random.nextInt(256);
                    }
                }
            }
            default -> random.nextBytes(page);
        }
        return page;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void randomPagesMatchQemuAndRoundTrip(long seed) {
        Random random = new Random(seed);
        int encodedPages = 0;
        for (int round = 0; round < 150; round++) {
            int length = round % 10 == 0 ? 8 * (1 + random.nextInt(64)) : PAGE_SIZE;
            byte[] oldPage = new byte[length];
            random.nextBytes(oldPage);
            byte[] newPage = changed(oldPage, random);
            int limit = round % 3 == 0 ? random.nextInt(length + 8) : length;
            byte[] encoding = encode(oldPage, newPage, limit);
            assertThat(encoding).as("round %d", round).isEqualTo(qemu(oldPage, newPage, limit));
            if (encoding == null) {
                continue;
            }
            if (encoding.length == 0) {
                assertThat(newPage).isEqualTo(oldPage);
            } else {
                encodedPages++;
                assertThat(decode(encoding, oldPage)).as("round %d", round).containsExactly(newPage);
            }
        }
        assertThat(encodedPages).isGreaterThan(50);
    }

    // ------------------------------------------------------------------ refusals

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("one byte", "04", XbzrleError.TRUNCATED_LENGTH),
                Arguments.of("one byte where the data run starts", "04 05", XbzrleError.TRUNCATED_LENGTH),
                Arguments.of("one byte after a whole run", "04 02 44 55 03", XbzrleError.TRUNCATED_LENGTH),
                Arguments.of("three-byte zero run", "80 80 01 01 aa", XbzrleError.LENGTH_OVERFLOW),
                Arguments.of("three-byte data run", "04 ff ff 00", XbzrleError.LENGTH_OVERFLOW),
                Arguments.of("zero run of 0 after the first", "00 01 aa 00 01 bb", XbzrleError.EMPTY_RUN),
                Arguments.of("zero run of 0 as two bytes after the first", "00 01 aa 80 00 01 bb", XbzrleError.EMPTY_RUN),
                Arguments.of("data run of 0", "04 00 11", XbzrleError.EMPTY_RUN),
                Arguments.of("zero run past the page", "11 01 aa", XbzrleError.RUN_PAST_PAGE),
                Arguments.of("zero run to the page's end, then data", "10 01 aa", XbzrleError.RUN_PAST_PAGE),
                Arguments.of("data run past the page", "0f 02 aa bb", XbzrleError.RUN_PAST_PAGE),
                Arguments.of("second run past the page", "02 01 aa 0c 03 bb cc dd", XbzrleError.RUN_PAST_PAGE),
                Arguments.of("past the page before past the data", "0f 05 aa", XbzrleError.RUN_PAST_PAGE),
                Arguments.of("data run longer than the encoding", "04 03 aa bb", XbzrleError.TRUNCATED_DATA),
                Arguments.of("two-byte data run longer than the encoding", "00 82 00 aa", XbzrleError.TRUNCATED_DATA));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedEncodingIsRefusedByNameAndTouchesNothing(String name, String encoding, XbzrleError error) {
        ByteBuf page = guarded(counting(16));
        ByteBuf encoded = offsetBuf(hex(encoding));
        int readerIndex = encoded.readerIndex();
        assertThatThrownBy(() -> Xbzrle.decode(encoded, page))
                .isInstanceOfSatisfying(XbzrleFormatException.class, e -> assertThat(e.error()).isEqualTo(error))
                .isInstanceOf(StreamFormatException.class)
                .hasMessageStartingWith(error.name() + ": ");
        assertThat(pageOf(page)).containsExactly(counting(16));
        assertThat(encoded.readerIndex()).isEqualTo(readerIndex);
    }

    @Test
    void everyCutOfAnEncodingIsAPageOrARefusal() {
        // cut anywhere inside, it is refused by name: where a length should start, or in the data
        byte[] whole = concat(hex("c8 01 82 01"), filled(130, (byte) 0x5A));
        for (int cut = 0; cut < whole.length; cut++) {
            byte[] part = Arrays.copyOf(whole, cut);
            XbzrleError expected = cut <= 3 ? XbzrleError.TRUNCATED_LENGTH : XbzrleError.TRUNCATED_DATA;
            if (cut == 0) {
                assertThat(decode(part, counting(512))).containsExactly(counting(512));
                continue;
            }
            assertThatThrownBy(() -> decode(part, counting(512))).as("cut %d", cut)
                    .isInstanceOfSatisfying(XbzrleFormatException.class, e -> assertThat(e.error()).isEqualTo(expected));
        }
    }

    @Test
    void overLongEncodingIsRefused() {
        // a valid encoding with bytes after it: they start a run that cannot be one
        assertThatThrownBy(() -> decode(hex("04 02 44 55 00 01 99"), counting(16)))
                .isInstanceOfSatisfying(XbzrleFormatException.class,
                        e -> assertThat(e.error()).isEqualTo(XbzrleError.EMPTY_RUN));
        assertThatThrownBy(() -> decode(hex("04 02 44 55 0a 01 99"), counting(16)))
                .isInstanceOfSatisfying(XbzrleFormatException.class,
                        e -> assertThat(e.error()).isEqualTo(XbzrleError.RUN_PAST_PAGE));
        // a page's worth of data for a page one byte shorter
        byte[] page = new byte[PAGE_SIZE - 1];
        assertThatThrownBy(() -> decode(concat(hex("00 80 20"), new byte[PAGE_SIZE]), page))
                .isInstanceOfSatisfying(XbzrleFormatException.class,
                        e -> assertThat(e.error()).isEqualTo(XbzrleError.RUN_PAST_PAGE));
    }

    @Test
    void decodingNeverWritesOutsideThePage() {
        Random random = new Random(7);
        for (int round = 0; round < 300; round++) {
            byte[] oldPage = new byte[64];
            random.nextBytes(oldPage);
            byte[] encoding = new byte[1 + random.nextInt(12)];
            random.nextBytes(encoding);
            ByteBuf page = guarded(oldPage);
            try {
                Xbzrle.decode(offsetBuf(encoding), page);
            } catch (XbzrleFormatException refused) {
                assertThat(pageOf(page)).containsExactly(oldPage);
            }
            pageOf(page);
        }
    }

    // ------------------------------------------------------------------ the record body

    @Test
    void bodyIsEncodingByteLengthAndData() {
        ByteBuf out = Unpooled.buffer();
        ByteBuf encoding = offsetBuf(hex("04 02 44 55"));
        XbzrleRecord.write(out, encoding);
        assertThat(Feeding.drain(out)).containsExactly(hex("01 00 04 04 02 44 55"));
        assertThat(encoding.readableBytes()).isEqualTo(4);

        ByteBuf page = Unpooled.buffer();
        XbzrleRecord.write(page, Unpooled.wrappedBuffer(new byte[PAGE_SIZE]));
        assertThat(page.getUnsignedShort(1)).isEqualTo(PAGE_SIZE);
        assertThat(XbzrleRecord.read(page).readableBytes()).isEqualTo(PAGE_SIZE);
    }

    @Test
    void bodyWriterRefusesWhatQemuWouldNotSend() {
        ByteBuf out = Unpooled.buffer();
        assertThatThrownBy(() -> XbzrleRecord.write(out, Unpooled.buffer()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> XbzrleRecord.write(out, Unpooled.wrappedBuffer(new byte[PAGE_SIZE + 1])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(out.writerIndex()).isZero();
    }

    @Test
    void bodyIsReadByteAtATime() {
        byte[] body = hex("01 00 04 04 02 44 55 77");     // 77: the next record's first byte
        ByteBuf cumulation = Unpooled.buffer();
        for (int arrived = 0; arrived < 7; arrived++) {
            assertThat(XbzrleRecord.bodyLength(cumulation)).as("after %d", arrived).isEqualTo(arrived < 3 ? 3 : 7);
            assertThat(XbzrleRecord.read(cumulation)).as("after %d", arrived).isNull();
            assertThat(cumulation.readerIndex()).isZero();
            cumulation.writeByte(body[arrived]);
        }
        cumulation.writeByte(body[7]);
        ByteBuf encoding = XbzrleRecord.read(cumulation);
        assertThat(Feeding.drain(encoding)).containsExactly(hex("04 02 44 55"));
        assertThat(cumulation.readerIndex()).isEqualTo(7);
        assertThat(cumulation.readableBytes()).isEqualTo(1);
    }

    static Stream<Arguments> badBodies() {
        return Stream.of(
                Arguments.of("encoding byte 0", "00 00 04 04 02 44 55", 1, XbzrleError.WRONG_ENCODING),
                Arguments.of("encoding byte 2", "02 00 04 04 02 44 55", 1, XbzrleError.WRONG_ENCODING),
                Arguments.of("encoding byte ff", "ff 00 04 04 02 44 55", 1, XbzrleError.WRONG_ENCODING),
                Arguments.of("length 0", "01 00 00", 3, XbzrleError.ENCODED_LENGTH_ZERO),
                Arguments.of("length 4097", "01 10 01 00", 3, XbzrleError.ENCODED_LENGTH_OVER_PAGE),
                Arguments.of("length ffff", "01 ff ff 00", 3, XbzrleError.ENCODED_LENGTH_OVER_PAGE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBodies")
    void badBodyIsRefusedByNameAsSoonAsItsByteArrives(String name, String body, int refusedAt, XbzrleError error) {
        byte[] bytes = hex(body);
        ByteBuf cumulation = Unpooled.buffer();
        for (int arrived = 1; arrived <= bytes.length; arrived++) {
            cumulation.writeByte(bytes[arrived - 1]);
            if (arrived < refusedAt) {
                assertThat(XbzrleRecord.read(cumulation)).isNull();
                continue;
            }
            assertThatThrownBy(() -> XbzrleRecord.read(cumulation))
                    .isInstanceOfSatisfying(XbzrleFormatException.class, e -> assertThat(e.error()).isEqualTo(error))
                    .hasMessageStartingWith(error.name() + ": ");
            assertThatThrownBy(() -> XbzrleRecord.bodyLength(cumulation)).isInstanceOf(XbzrleFormatException.class);
            assertThat(cumulation.readerIndex()).isZero();
        }
    }

    @Test
    void everyErrorIsTested() {
        Stream<XbzrleError> tested = Stream.concat(malformed(), badBodies())
                .map(arguments -> (XbzrleError) arguments.get()[arguments.get().length - 1]);
        assertThat(tested.distinct()).containsExactlyInAnyOrder(XbzrleError.values());
    }
}
