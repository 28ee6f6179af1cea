package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * What the parts of one {@link StreamDecoder} share: the listener they report to, the limits they
 * enforce, and the stream position, which every consumed byte advances and every error cites.
 */
final class DecoderContext {

    /** {@code | 0x7E | be32 section id |}, closing every section. */
    static final int FOOTER_SIZE = 1 + Integer.BYTES;

    final StreamListener listener;
    final DecoderLimits limits;
    /** Stream offset of in.readerIndex(): bytes consumed so far from the current connection. */
    long position;

    DecoderContext(StreamListener listener, DecoderLimits limits) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    void consume(ByteBuf in, int n) {
        in.skipBytes(n);
        position += n;
    }

    /**
     * Checks the footer {@code | 0x7E | be32 section id |} of section {@code idstr} at
     * {@code index}; false if not all there yet.
     */
    boolean footerOk(ByteBuf in, int index, int sectionId, String idstr) {
        int available = in.writerIndex() - index;
        if (available < 1) {
            return false;
        }
        byte marker = in.getByte(index);
        if (marker != StreamFormat.SECTION_FOOTER) {
            throw fail(String.format("Missing section footer for %s (found byte 0x%02x)", idstr, marker));
        }
        if (available < FOOTER_SIZE) {
            return false;
        }
        int id = in.getInt(index + 1);
        if (id != sectionId) {
            throw fail("Mismatched section id in footer for " + idstr + ": read " + Integer.toUnsignedString(id)
                    + ", expected " + Integer.toUnsignedString(sectionId));
        }
        return true;
    }

    int checkCountedStringLength(int length, String what) {
        if (length == 0) {
            throw fail("Empty " + what);
        }
        if (length > limits.maxIdstrLength()) {
            throw fail(what + " is " + length + " bytes, limit " + limits.maxIdstrLength());
        }
        return length;
    }

    StreamFormatException fail(String message) {
        return new StreamFormatException(message + " (stream offset " + position + ")");
    }
}
