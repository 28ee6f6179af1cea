package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * QEMU's return path (destination → source on the same connection): be16 type, be16 length,
 * payload. Ferry uses SHUT (type 1, be32 status, 0 = the destination took the guest) and PONG.
 */
public sealed interface ReturnPathMessage {

    int SHUT = 1;
    int PONG = 2;
    /** QEMU's source buffer for one message. */
    int MAX_LENGTH = 512;

    record Shut(int status) implements ReturnPathMessage {
    }

    record Pong(int value) implements ReturnPathMessage {
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
        }
    }
}
