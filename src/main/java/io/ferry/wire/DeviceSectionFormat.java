package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * How long the payload of a FULL section is. QEMU's device payloads are not self-describing
 * on the wire (each device's field list is compiled in), so every section the decoder accepts
 * needs one of these.
 */
@FunctionalInterface
public interface DeviceSectionFormat {

    /**
     * The payload length starting at {@code in.readerIndex()} (without moving it), or -1 when
     * more bytes are needed to tell.
     */
    int payloadLength(ByteBuf in, int versionId);

    /** Payload = be32 length + that many bytes, at most {@code maxBytes}: Ferry's own sections. */
    static DeviceSectionFormat lengthPrefixed(String idstr, int maxBytes) {
        return (in, version) -> {
            if (in.readableBytes() < 4) {
                return -1;
            }
            long length = in.getUnsignedInt(in.readerIndex());
            if (length > maxBytes) {
                throw new StreamFormatException("section '" + idstr + "' payload of " + length
                        + " bytes exceeds the limit of " + maxBytes);
            }
            return 4 + (int) length;
        };
    }
}
