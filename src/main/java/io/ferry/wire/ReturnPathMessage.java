package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * QEMU's return path (destination → source on the same connection): be16 type, be16 length,
 * payload. Ferry uses SHUT (type 1, be32 status, 0 = the destination took the guest) and PONG,
 * plus one message of its own, kept apart from QEMU's type numbers: REASON (type 0x0100, UTF-8
 * text), sent just before a non-zero SHUT so the source can say why the destination refused.
 */
public sealed interface ReturnPathMessage {

    int SHUT = 1;
    int PONG = 2;
    /** Ferry's own; QEMU's types end at 7. */
    int REASON = 0x0100;
    /** QEMU's source buffer for one message. */
    int MAX_LENGTH = 512;

    record Shut(int status) implements ReturnPathMessage {
    }

    record Pong(int value) implements ReturnPathMessage {
    }

    record Reason(String text) implements ReturnPathMessage {
    }

    static void encode(ByteBuf out, ReturnPathMessage message) {
        if (message instanceof Shut s) {
            out.writeShort(SHUT);
            out.writeShort(4);
            out.writeInt(s.status());
        } else if (message instanceof Pong p) {
            out.writeShort(PONG);
            out.writeShort(4);
            out.writeInt(p.value());
        } else if (message instanceof Reason r) {
            byte[] text = r.text().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int length = Math.min(text.length, MAX_LENGTH);
            out.writeShort(REASON);
            out.writeShort(length);
            out.writeBytes(text, 0, length);
        }
    }
}
