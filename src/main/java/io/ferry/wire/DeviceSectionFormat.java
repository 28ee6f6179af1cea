package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * Tells a {@link StreamDecoder} how long the payload of one FULL section is.
 *
 * <p>Why it exists: QEMU device payloads are VMState fields written back to back, with no length
 * and no end marker (the vmdesc JSON that describes them comes only after EOF). A streaming reader
 * can only skip or keep a device's state if it knows that device's layout. Ferry's own
 * {@link StreamFormat#DEVICE_STATE_SECTION} is length-prefixed and built in; for any other idstr the
 * {@link StreamListener#deviceSectionFormat listener} supplies one of these, or the section is
 * refused as unknown.
 *
 * <p>The decoder calls {@link #measure} each time more bytes have arrived, until it returns a
 * length; it then waits for that many bytes plus the footer, checks the footer, and hands the
 * payload to {@link StreamListener#deviceState}. A format for a VMState with optional subsections
 * can therefore peek: read its fixed fields' size, then look at the next byte for
 * {@link StreamFormat#SUBSECTION} (0x05) and walk the subsections' counted-string names.
 */
@FunctionalInterface
public interface DeviceSectionFormat {

    /** {@link #measure} result: the bytes so far do not yet tell the payload's length. */
    int NEED_MORE = -1;

    /**
     * Measures the payload that starts at {@code in.readerIndex()}.
     *
     * @param in        a read-only view of the bytes received so far, from the payload's first
     *                  byte; it may end before the payload does. Use absolute getters; the view is
     *                  valid only during the call
     * @param versionId the section's version_id, as read from the stream
     * @return the payload length in bytes (without the footer), or {@link #NEED_MORE}
     * @throws StreamFormatException if these bytes cannot be this device's payload
     */
    int measure(ByteBuf in, int versionId);

    /** A payload of exactly {@code length} bytes (a VMState with fixed fields and no subsection sent). */
    static DeviceSectionFormat fixed(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("length must be >= 0, got " + length);
        }
        return (in, versionId) -> length;
    }

    /** A payload that starts with a be32 length of the bytes that follow it (Ferry's own layout). */
    static DeviceSectionFormat lengthPrefixed() {
        return (in, versionId) -> {
            if (in.readableBytes() < Integer.BYTES) {
                return NEED_MORE;
            }
            long length = in.getUnsignedInt(in.readerIndex());
            if (length > Integer.MAX_VALUE - Integer.BYTES) {
                throw new StreamFormatException("Length-prefixed payload of " + length + " bytes is too large");
            }
            return Integer.BYTES + (int) length;
        };
    }
}
