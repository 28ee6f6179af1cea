package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * A message on the return path: destination to source, the same connection in the other
 * direction, opened by COMMAND OPEN_RETURN_PATH. QEMU's layout (migration.c, {@code MIG_RP_MSG_*}):
 * <pre>
 *   | be16 type | be16 len | len bytes |
 *
 *   type 0 INVALID        refused
 *   type 1 SHUT           len 4: be32 status, 0 = loaded OK, non-zero = the destination failed
 *   type 2 PONG           len 4: be32 echo of a PING command's value
 *   type 3 REQ_PAGES_ID   len 13+n: be64 start, be32 length (bytes, whole pages), u8 n, RAM block idstr
 *   type 4 REQ_PAGES      len 12: be64 start, be32 length, in the block of the previous request
 *   type 5 RECV_BITMAP, 6 RESUME_ACK, 7 SWITCHOVER_ACK
 *                         post-copy recovery / switchover-ack: reserved here, refused when read
 *   type 0x0100 REASON    Ferry's own, apart from QEMU's numbers: len 1..512 UTF-8 text saying why
 *                         the destination refuses the stream; sent just before a non-zero SHUT
 * </pre>
 * Types are QEMU's (and Ferry's one) and are never reused.
 */
public sealed interface ReturnPathMessage
        permits ReturnPathMessage.Shut, ReturnPathMessage.Pong, ReturnPathMessage.Reason, ReturnPathMessage.RequestPages {

    int TYPE_INVALID = 0;
    int TYPE_SHUT = 1;
    int TYPE_PONG = 2;
    int TYPE_REQ_PAGES_ID = 3;
    int TYPE_REQ_PAGES = 4;
    /** Ferry's own. */
    int TYPE_REASON = 0x0100;
    /** The largest message QEMU's source accepts (its receive buffer): header excluded. */
    int MAX_LENGTH = 512;
    /** be16 type + be16 length. */
    int HEADER_LENGTH = 4;

    /** The type code on the wire. */
    int type();

    /** The destination is done with the incoming migration: 0 loaded, non-zero failed. */
    record Shut(int status) implements ReturnPathMessage {
        @Override
        public int type() {
            return TYPE_SHUT;
        }

        public boolean ok() {
            return status == 0;
        }
    }

    /** Answer to COMMAND PING with the same value. */
    record Pong(int value) implements ReturnPathMessage {
        @Override
        public int type() {
            return TYPE_PONG;
        }
    }

    /**
     * Post-copy: the destination's guest touched pages it does not have. Always written as
     * REQ_PAGES_ID (naming the block); a REQ_PAGES read is resolved to the previous block.
     */
    record RequestPages(String block, long start, int length) implements ReturnPathMessage {
        @Override
        public int type() {
            return TYPE_REQ_PAGES_ID;
        }
    }

    /** Why the destination refuses the stream (Ferry's own message). */
    record Reason(String text) implements ReturnPathMessage {
        @Override
        public int type() {
            return TYPE_REASON;
        }
    }

    /** Writes {@code message} with its header. Stateless. A reason is cut to {@link #MAX_LENGTH} bytes. */
    static void encode(ByteBuf out, ReturnPathMessage message) {
        out.writeShort(message.type());
        if (message instanceof RequestPages request) {
            byte[] name = request.block().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.writeShort(13 + name.length);
            out.writeLong(request.start());
            out.writeInt(request.length());
            out.writeByte(name.length);
            out.writeBytes(name);
            return;
        }
        if (message instanceof Reason reason) {
            byte[] text = reason.text().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int length = Math.max(1, Math.min(text.length, MAX_LENGTH));
            out.writeShort(length);
            out.writeBytes(text.length == 0 ? new byte[] {'?'} : text, 0, length);
            return;
        }
        out.writeShort(Integer.BYTES);
        if (message instanceof Shut shut) {
            out.writeInt(shut.status());
        } else if (message instanceof Pong pong) {
            out.writeInt(pong.value());
        }
    }
}
