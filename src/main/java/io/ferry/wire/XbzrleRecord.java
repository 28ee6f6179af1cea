package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * The body of a {@link RamFlag#XBZRLE} RAM record: what follows its header (the address word and,
 * without CONTINUE, the block name), as QEMU's {@code save_xbzrle_page} writes it and
 * {@code load_xbzrle} reads it (migration/ram.c):
 *
 * <pre>
 *   +------------------------------+-------------+-----------------------------------+
 *   | u8 ENCODING_FLAG_XBZRLE 0x01 | be16 length | length bytes: an XBZRLE encoding  |
 *   +------------------------------+-------------+-----------------------------------+
 * </pre>
 *
 * <p>The encoding is drawn in {@link Xbzrle}.
 *
 * <p>The length is 1 to {@link StreamFormat#PAGE_SIZE}. QEMU refuses a longer one; it would load
 * a length of 0 (an encoding that changes nothing) but never sends one, and Ferry refuses it.
 * Applying the encoding to the page is {@link Xbzrle#decode}'s business, not this class's. The
 * stream decoder reads the body in place ({@link RamRecordDecoder}); {@link #read} is for a body
 * on its own.
 */
public final class XbzrleRecord {

    /** QEMU's {@code ENCODING_FLAG_XBZRLE}: the only encoding byte there is. */
    public static final int ENCODING_FLAG_XBZRLE = 0x01;
    /** The encoding byte and the be16 length. */
    public static final int HEADER_BYTES = 3;

    private XbzrleRecord() {
    }

    /**
     * Writes a body around {@code encoding}'s readable bytes, which stay unread.
     *
     * @throws IllegalArgumentException if there are none or more than a page of them
     */
    public static void write(ByteBuf out, ByteBuf encoding) {
        int length = encoding.readableBytes();
        if (length == 0 || length > StreamFormat.PAGE_SIZE) {
            throw new IllegalArgumentException("an XBZRLE body holds 1 to " + StreamFormat.PAGE_SIZE
                    + " bytes of encoding, not " + length);
        }
        out.writeByte(ENCODING_FLAG_XBZRLE);
        out.writeShort(length);
        out.writeBytes(encoding, encoding.readerIndex(), length);
    }

    /**
     * How many bytes, from {@code in}'s reader index, the whole body takes: {@link #HEADER_BYTES}
     * until the header has arrived, then the header and the encoding. Reads nothing, and checks
     * what has arrived: the encoding byte as soon as it is there, the length as soon as it is.
     *
     * @throws XbzrleFormatException WRONG_ENCODING, ENCODED_LENGTH_ZERO or ENCODED_LENGTH_OVER_PAGE
     */
    public static int bodyLength(ByteBuf in) {
        return bodyLength(in, in.readerIndex());
    }

    /** As {@link #bodyLength(ByteBuf)}, for a body starting at {@code at} (what has arrived ends at the writer index). */
    static int bodyLength(ByteBuf in, int at) {
        int arrived = in.writerIndex() - at;
        if (arrived >= 1 && in.getUnsignedByte(at) != ENCODING_FLAG_XBZRLE) {
            throw new XbzrleFormatException(XbzrleError.WRONG_ENCODING,
                    String.format("encoding byte 0x%02x", in.getUnsignedByte(at)));
        }
        if (arrived < HEADER_BYTES) {
            return HEADER_BYTES;
        }
        int length = in.getUnsignedShort(at + 1);
        if (length == 0) {
            throw new XbzrleFormatException(XbzrleError.ENCODED_LENGTH_ZERO, "length 0");
        }
        if (length > StreamFormat.PAGE_SIZE) {
            throw new XbzrleFormatException(XbzrleError.ENCODED_LENGTH_OVER_PAGE,
                    "length " + length + " for a " + StreamFormat.PAGE_SIZE + "-byte page");
        }
        return HEADER_BYTES + length;
    }

    /**
     * Reads a whole body: returns its encoding as a slice of {@code in} (sharing its memory, not
     * retained) and moves {@code in} past the body. With fewer than {@link #bodyLength} bytes
     * readable, returns null and reads nothing.
     *
     * @throws XbzrleFormatException as {@link #bodyLength}; {@code in} is then not moved
     */
    public static ByteBuf read(ByteBuf in) {
        int length = bodyLength(in);
        if (in.readableBytes() < length) {
            return null;
        }
        in.skipBytes(HEADER_BYTES);
        return in.readSlice(length - HEADER_BYTES);
    }
}
