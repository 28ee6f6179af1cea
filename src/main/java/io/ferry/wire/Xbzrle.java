package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * QEMU's XBZRLE page delta ({@code migration/xbzrle.c}): a re-sent page described against the copy
 * the destination already holds.
 *
 * <pre>
 *   encoding = zrun nzrun [zrun nzrun ...]
 *   zrun     = length                  bytes that did not change (the first may be 0, no other)
 *   nzrun    = length byte...          length (at least 1) bytes of the NEW page, copied as they are
 *   length   = uleb128, one or two bytes (at most 0x3FFF): | 0xxxxxxx |  or  | 1xxxxxxx | 0xxxxxxx |
 *                                                            low 7 bits first
 * </pre>
 *
 * <p>Despite the name ("XOR based"), the data bytes are not XOR deltas: QEMU compares the pages by
 * XOR to find the runs but sends and applies the new bytes themselves. The trailing unchanged bytes
 * of a page are not encoded. An unchanged page has no encoding at all (length 0).
 *
 * <p>Stateless; both methods leave the pages' indexes alone.
 */
public final class Xbzrle {

    /** The largest length two uleb128 bytes carry, so the largest page this codec encodes. */
    public static final int MAX_RUN = 0x3FFF;

    private static final int CONTINUATION = 0x80;

    private Xbzrle() {
    }

    /**
     * Encodes {@code newPage} against {@code oldPage} exactly as QEMU's {@code xbzrle_encode_buffer}
     * does with {@code dlen = maxEncodedLength}: the same bytes, and -1 in the same cases. QEMU
     * compares a word at a time for speed; its runs are still the longest runs of equal and of
     * different bytes, which is what this finds.
     *
     * <p>QEMU's overflow checks are kept to the letter, including two that look too strict: two free
     * bytes are demanded before every zero run, even the trailing one that is not written, so an
     * encoding that leaves fewer than two bytes of the limit free while unchanged bytes follow it
     * is -1, and so is an unchanged page when the limit is under 2.
     * {@code save_xbzrle_page} calls it with the page size as the limit and sends a page it cannot
     * encode as a plain PAGE record.
     *
     * @param oldPage          the page as the destination has it: its readable bytes
     * @param newPage          the page now: as many readable bytes as {@code oldPage}
     * @param out              the encoding is appended at its writer index
     * @param maxEncodedLength QEMU's {@code dlen}: the encoding is never longer
     * @return the encoding's length; 0 when the pages are equal (nothing written); -1 when the
     *         encoding would be longer than {@code maxEncodedLength}: {@code out}'s writer index is
     *         then back where it was, and only bytes past it (at most {@code maxEncodedLength}) may
     *         have been overwritten
     * @throws IllegalArgumentException if the pages differ in length, are longer than
     *                                  {@link #MAX_RUN}, or the limit is negative
     */
    public static int encode(ByteBuf oldPage, ByteBuf newPage, ByteBuf out, int maxEncodedLength) {
        int slen = oldPage.readableBytes();
        if (newPage.readableBytes() != slen || slen > MAX_RUN || maxEncodedLength < 0) {
            throw new IllegalArgumentException(String.format("XBZRLE pages of %d and %d bytes, limit %d",
                    slen, newPage.readableBytes(), maxEncodedLength));
        }
        int start = out.writerIndex();
        int d = 0;
        int i = 0;
        while (i < slen) {
            if (d + 2 > maxEncodedLength) {
                return overflow(out, start);
            }
            int zrunStart = i;
            i = runEnd(oldPage, newPage, i, slen, true);
            if (i - zrunStart == slen) {
                return 0;           // unchanged page
            }
            if (i == slen) {
                return d;           // trailing zero run is not sent
            }
            d += writeLength(out, i - zrunStart);
            if (d + 2 > maxEncodedLength) {
                return overflow(out, start);
            }
            int nzrunStart = i;
            i = runEnd(oldPage, newPage, i, slen, false);
            int nzrunLength = i - nzrunStart;
            d += writeLength(out, nzrunLength);
            if (d + nzrunLength > maxEncodedLength) {
                return overflow(out, start);
            }
            out.writeBytes(newPage, newPage.readerIndex() + nzrunStart, nzrunLength);
            d += nzrunLength;
        }
        return d;
    }

    /**
     * Applies an encoding to the page it was made against, as QEMU's {@code xbzrle_decode_buffer}
     * does with {@code dlen} = the page's length: each data run's bytes replace the page's bytes
     * at that place; the rest of the page stays as it is. The encoding is checked whole before
     * the page is touched, so a refused encoding leaves the page unchanged (QEMU may have written
     * part of it). Nothing is read past {@code encoded}'s readable bytes, nothing written outside
     * {@code page}'s.
     *
     * @param encoded all its readable bytes are the encoding; consumed on success, untouched on refusal
     * @param page    its readable bytes are the page, changed in place; its indexes do not move
     * @throws XbzrleFormatException for the first rule of {@code xbzrle_decode_buffer} broken, in
     *                               QEMU's order of checks
     */
    public static void decode(ByteBuf encoded, ByteBuf page) {
        runs(encoded, page.readableBytes(), null);
        runs(encoded, page.readableBytes(), page);
        encoded.skipBytes(encoded.readableBytes());
    }

    /**
     * Checks an encoding as {@link #decode} would for a page of {@code pageLength} bytes, without a
     * page: whether it applies depends on the page's length alone, never on its bytes. The stream
     * decoder checks an XBZRLE record so before reporting it. Reads nothing; moves nothing.
     *
     * @throws XbzrleFormatException as {@link #decode}
     */
    public static void check(ByteBuf encoded, int pageLength) {
        runs(encoded, pageLength, null);
    }

    /** Walks the runs of a {@code dlen}-byte page, checking them; with a {@code page}, copies the data runs into it. */
    private static void runs(ByteBuf encoded, int dlen, ByteBuf page) {
        int base = encoded.readerIndex();
        int slen = encoded.readableBytes();
        int i = 0;
        int d = 0;
        while (i < slen) {
            checkLengthFits(slen, i);
            int zrun = readLength(encoded, base + i);
            if (i != 0 && zrun == 0) {
                throw refused(XbzrleError.EMPTY_RUN, "zero run of 0 at byte " + i);
            }
            i += lengthSize(encoded, base + i);
            d += zrun;
            if (d > dlen) {
                throw refused(XbzrleError.RUN_PAST_PAGE, "zero run to byte " + d + " of a " + dlen + "-byte page");
            }
            checkLengthFits(slen, i);
            int nzrun = readLength(encoded, base + i);
            if (nzrun == 0) {
                throw refused(XbzrleError.EMPTY_RUN, "data run of 0 at byte " + i);
            }
            i += lengthSize(encoded, base + i);
            if (d + nzrun > dlen) {
                throw refused(XbzrleError.RUN_PAST_PAGE, "data run to byte " + (d + nzrun) + " of a " + dlen + "-byte page");
            }
            if (i + nzrun > slen) {
                throw refused(XbzrleError.TRUNCATED_DATA, nzrun + " bytes announced, " + (slen - i) + " left");
            }
            if (page != null) {
                page.setBytes(page.readerIndex() + d, encoded, base + i, nzrun);
            }
            d += nzrun;
            i += nzrun;
        }
    }

    private static void checkLengthFits(int slen, int i) {
        if (slen - i < 2) {
            throw refused(XbzrleError.TRUNCATED_LENGTH, (slen - i) + " byte(s) left at byte " + i);
        }
    }

    /** QEMU's {@code uleb128_decode_small}; the caller has made sure two bytes are readable. */
    private static int readLength(ByteBuf in, int at) {
        int first = in.getUnsignedByte(at);
        if (first < CONTINUATION) {
            return first;
        }
        int second = in.getUnsignedByte(at + 1);
        if (second >= CONTINUATION) {
            throw refused(XbzrleError.LENGTH_OVERFLOW, String.format("length bytes 0x%02x 0x%02x", first, second));
        }
        return (first & 0x7F) | second << 7;
    }

    private static int lengthSize(ByteBuf in, int at) {
        return in.getUnsignedByte(at) < CONTINUATION ? 1 : 2;
    }

    /** QEMU's {@code uleb128_encode_small}: one byte below 0x80, else two. */
    private static int writeLength(ByteBuf out, int n) {
        if (n < CONTINUATION) {
            out.writeByte(n);
            return 1;
        }
        out.writeByte(n & 0x7F | CONTINUATION);
        out.writeByte(n >>> 7);
        return 2;
    }

    /** Where the run of equal (or of different) bytes starting at {@code i} ends. */
    private static int runEnd(ByteBuf oldPage, ByteBuf newPage, int i, int slen, boolean equal) {
        int o = oldPage.readerIndex();
        int n = newPage.readerIndex();
        if (equal) {
            while (i + Long.BYTES <= slen && oldPage.getLong(o + i) == newPage.getLong(n + i)) {
                i += Long.BYTES;
            }
        }
        while (i < slen && (oldPage.getByte(o + i) == newPage.getByte(n + i)) == equal) {
            i++;
        }
        return i;
    }

    private static int overflow(ByteBuf out, int start) {
        out.writerIndex(start);
        return -1;
    }

    private static XbzrleFormatException refused(XbzrleError error, String detail) {
        return new XbzrleFormatException(error, detail);
    }
}
