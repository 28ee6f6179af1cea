package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * Writes RAM page record headers for one channel. Remembers the last block written so a
 * record for the same block carries CONTINUE and no idstr, as QEMU does. Not thread-safe: one
 * per connection.
 */
public final class RamRecordWriter {

    private String lastBlock;

    /** A ZERO record: header and fill byte 0. */
    public void zeroPage(ByteBuf out, String block, long offset) {
        header(out, block, offset, RamFlag.ZERO.code());
        out.writeByte(0);
    }

    /** A PAGE record's header; the caller appends the {@link StreamFormat#PAGE_SIZE} data bytes. */
    public void pageHeader(ByteBuf out, String block, long offset) {
        header(out, block, offset, RamFlag.PAGE.code());
    }

    /** Bytes the next header for {@code block} takes. */
    public int headerSize(String block) {
        return block.equals(lastBlock) ? 8 : 8 + 1 + block.length();
    }

    public void reset() {
        lastBlock = null;
    }

    private void header(ByteBuf out, String block, long offset, int flags) {
        if ((offset & (StreamFormat.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("offset " + offset + " is not page aligned");
        }
        if (block.equals(lastBlock)) {
            out.writeLong(offset | flags | RamFlag.CONTINUE.code());
        } else {
            out.writeLong(offset | flags);
            StreamEncoder.countedString(out, block);
            lastBlock = block;
        }
    }
}
