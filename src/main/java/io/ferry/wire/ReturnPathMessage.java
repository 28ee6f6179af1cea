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
 *   type 5 RECV_BITMAP    len 1+n: u8 n, RAM block idstr; then, NOT counted in len: be64 size (bytes,
 *                         a multiple of 8), the received bitmap (size bytes, little-endian: bit j of
 *                         byte k is page 8k+j, 1 = received), be64 end marker 0x0123456789ABCDEF
 *   type 6 RESUME_ACK     len 4: be32 1 (MIGRATION_RESUME_ACK_VALUE), post-copy recovery done
 *   type 7 SWITCHOVER_ACK switchover-ack capability: reserved here, refused when read
 *   type 0x0100 REASON    Ferry's own, apart from QEMU's numbers: len 1..512 UTF-8 text saying why
 *                         the destination refuses the stream; sent just before a non-zero SHUT
 * </pre>
 * Types are QEMU's (and Ferry's one) and are never reused.
 */
public sealed interface ReturnPathMessage
        permits ReturnPathMessage.Shut, ReturnPathMessage.Pong, ReturnPathMessage.Reason, ReturnPathMessage.RequestPages,
                ReturnPathMessage.ReceivedBitmap, ReturnPathMessage.ResumeAck {

    int TYPE_INVALID = 0;
    int TYPE_SHUT = 1;
    int TYPE_PONG = 2;
    int TYPE_REQ_PAGES_ID = 3;
    int TYPE_REQ_PAGES = 4;
    int TYPE_RECV_BITMAP = 5;
    int TYPE_RESUME_ACK = 6;
    /** Ferry's own. */
    int TYPE_REASON = 0x0100;
    /** The largest message QEMU's source accepts (its receive buffer): header excluded. */
    int MAX_LENGTH = 512;
    /** be16 type + be16 length. */
    int HEADER_LENGTH = 4;
    /**
     * Largest RECV_BITMAP bitmap read or written, in bytes: one bit per 4 KiB page of a 4 TiB
     * block. A bigger size is refused when read, before its bytes are waited for.
     */
    int MAX_BITMAP_BYTES = 128 << 20;
    /** QEMU's {@code RAMBLOCK_RECV_BITMAP_ENDING}, after a RECV_BITMAP's bitmap. */
    long RECV_BITMAP_END_MARKER = 0x0123456789ABCDEFL;
    /** QEMU's {@code MIGRATION_RESUME_ACK_VALUE}: the only value of a RESUME_ACK. */
    int RESUME_ACK_VALUE = 1;

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

    /**
     * Post-copy recovery: the pages of {@code block} the destination holds, answering COMMAND
     * RECV_BITMAP. {@code words} is in {@code io.ferry.guest.DirtyBitmap}'s layout, bit
     * {@code page & 63} of word {@code page >>> 6}, 1 = received; on the wire it is QEMU's
     * little-endian bitmap, which is the same bits as little-endian 64-bit words. Bits past the
     * block's last page are 0 as sent, and are not checked when read.
     *
     * <p>The array is not copied (it can be 128 MiB): the sender must not change it until encoded,
     * the receiver owns the one it is given. {@code equals} and {@code hashCode} compare its
     * contents; {@code toString} gives its length and how many pages are set, not its words.
     */
    record ReceivedBitmap(String block, long[] words) implements ReturnPathMessage {
        public ReceivedBitmap {
            java.util.Objects.requireNonNull(block, "block");
            java.util.Objects.requireNonNull(words, "words");
        }

        @Override
        public int type() {
            return TYPE_RECV_BITMAP;
        }

        /** Whether {@code page} is set (received). */
        public boolean received(long page) {
            return page >= 0 && (page >>> 6) < words.length && (words[(int) (page >>> 6)] & (1L << page)) != 0;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ReceivedBitmap other && block.equals(other.block)
                    && java.util.Arrays.equals(words, other.words);
        }

        @Override
        public int hashCode() {
            return 31 * block.hashCode() + java.util.Arrays.hashCode(words);
        }

        @Override
        public String toString() {
            long set = 0;
            for (long word : words) {
                set += Long.bitCount(word);
            }
            return "ReceivedBitmap[block=" + block + ", words=" + words.length + ", received=" + set + "]";
        }
    }

    /** Post-copy recovery: the destination took POSTCOPY_RESUME; always {@link #RESUME_ACK_VALUE}. */
    record ResumeAck(int value) implements ReturnPathMessage {
        @Override
        public int type() {
            return TYPE_RESUME_ACK;
        }
    }

    /** Why the destination refuses the stream (Ferry's own message). */
    record Reason(String text) implements ReturnPathMessage {
        @Override
        public int type() {
            return TYPE_REASON;
        }
    }

    /**
     * Writes {@code message} with its header (and a RECV_BITMAP's bitmap after it). Stateless. A
     * reason is cut to {@link #MAX_LENGTH} bytes.
     *
     * @throws IllegalArgumentException for what a decoder would refuse: a RECV_BITMAP with a block
     *                                  name not 1..255 bytes or a bitmap empty or over
     *                                  {@link #MAX_BITMAP_BYTES}, a RESUME_ACK other than
     *                                  {@link #RESUME_ACK_VALUE}; nothing is written then
     */
    static void encode(ByteBuf out, ReturnPathMessage message) {
        if (message instanceof ReceivedBitmap bitmap) {
            encodeBitmap(out, bitmap);
            return;
        }
        if (message instanceof ResumeAck ack && ack.value() != RESUME_ACK_VALUE) {
            throw new IllegalArgumentException("RESUME_ACK value must be " + RESUME_ACK_VALUE + ", not " + ack.value());
        }
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
        } else if (message instanceof ResumeAck ack) {
            out.writeInt(ack.value());
        }
    }

    private static void encodeBitmap(ByteBuf out, ReceivedBitmap bitmap) {
        byte[] name = StreamEncoder.countedStringBytes(bitmap.block());
        long[] words = bitmap.words();
        if (words.length == 0 || (long) words.length * Long.BYTES > MAX_BITMAP_BYTES) {
            throw new IllegalArgumentException("RECV_BITMAP of block '" + bitmap.block() + "' has " + words.length
                    + " words, must be 1.." + MAX_BITMAP_BYTES / Long.BYTES);
        }
        out.ensureWritable(HEADER_LENGTH + 1 + name.length + Long.BYTES * (words.length + 2));
        out.writeShort(TYPE_RECV_BITMAP);
        out.writeShort(1 + name.length);
        StreamEncoder.writeCountedString(out, name);
        out.writeLong((long) words.length * Long.BYTES);
        for (long word : words) {
            out.writeLongLE(word);
        }
        out.writeLong(RECV_BITMAP_END_MARKER);
    }
}
