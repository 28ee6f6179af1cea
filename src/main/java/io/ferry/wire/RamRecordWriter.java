package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.HashMap;
import java.util.Map;

/**
 * Writes RAM page record headers for one channel, naming a block only when it differs from the
 * previous record's block on that channel and setting {@link RamFlag#CONTINUE} otherwise, exactly
 * as QEMU's {@code save_page_header} does (layout in {@link RamFlag}).
 *
 * <p>One instance per connection, used by one thread: the "last block" is channel state, because
 * the destination resolves CONTINUE against the last block it read on the same channel. Not
 * thread-safe. Call {@link #reset()} when the channel (and so the reader's memory) starts over.
 */
public final class RamRecordWriter {

    private static final long OFFSET_MASK = ~(long) (StreamFormat.PAGE_SIZE - 1);

    // Encoded idstrs, so a block switch costs a map lookup rather than a String encoding.
    private final Map<String, byte[]> idstrBytes = new HashMap<>();
    private String lastBlock; // confined to the channel's thread

    /** A ZERO record: {@code | offset | ZERO [| CONTINUE] | [u8 n idstr] | u8 0 |}. */
    public void zeroPage(ByteBuf out, String block, long offset) {
        header(out, block, offset, RamFlag.ZERO.code());
        out.writeByte(0);
    }

    /**
     * A PAGE record header: {@code | offset | PAGE [| CONTINUE] | [u8 n idstr] |}. The caller
     * appends the {@link StreamFormat#PAGE_SIZE} data bytes itself (e.g. a view of guest memory, so
     * the page goes out without a copy).
     */
    public void pageHeader(ByteBuf out, String block, long offset) {
        header(out, block, offset, RamFlag.PAGE.code());
    }

    /**
     * An XBZRLE record around {@code encoding}'s readable bytes (which stay unread):
     * {@code | offset | XBZRLE [| CONTINUE] | [u8 n idstr] | u8 0x01 | be16 length | encoding |},
     * as QEMU's {@code save_xbzrle_page} writes it.
     *
     * @throws IllegalArgumentException for an encoding of 0 or more than a page of bytes (nothing written)
     */
    public void xbzrlePage(ByteBuf out, String block, long offset, ByteBuf encoding) {
        int length = encoding.readableBytes();
        if (length == 0 || length > StreamFormat.PAGE_SIZE) {
            throw new IllegalArgumentException("an XBZRLE record carries 1 to " + StreamFormat.PAGE_SIZE
                    + " bytes of encoding, not " + length);
        }
        header(out, block, offset, RamFlag.XBZRLE.code());
        XbzrleRecord.write(out, encoding);
    }

    /** Bytes the next header for {@code block} takes: 8 with CONTINUE, else 8 + 1 + idstr length. */
    public int headerSize(String block) {
        return block.equals(lastBlock) ? Long.BYTES : Long.BYTES + 1 + encoded(block).length;
    }

    /** Forget the last block: the next record names its block. */
    public void reset() {
        lastBlock = null;
    }

    private void header(ByteBuf out, String block, long offset, int flags) {
        if (offset < 0 || (offset & ~OFFSET_MASK) != 0) {
            throw new IllegalArgumentException(String.format("RAM page offset 0x%x is not a page-aligned offset", offset));
        }
        if (block.equals(lastBlock)) {
            out.writeLong(offset | flags | RamFlag.CONTINUE.code());
            return;
        }
        byte[] name = encoded(block);
        out.writeLong(offset | flags);
        StreamEncoder.writeCountedString(out, name);
        lastBlock = block;
    }

    private byte[] encoded(String block) {
        byte[] name = idstrBytes.get(block);
        if (name == null) {
            name = StreamEncoder.countedStringBytes(block);
            idstrBytes.put(block, name);
        }
        return name;
    }
}
