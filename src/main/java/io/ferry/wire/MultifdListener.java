package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * What a {@link MultifdDecoder} reports, in channel order, on the thread that feeds it (or calls
 * {@link MultifdDecoder#placed}). Every callback comes after the packet's whole header was
 * validated, so an offset outside its block never reaches guest memory. Any callback may throw
 * {@link StreamFormatException} to refuse; the decoder then fails and rethrows it.
 */
public interface MultifdListener {

    /**
     * A validated data packet header (never a SYNC one). Zero the pages listed in
     * {@link MultifdPacket#zeroOffsets()} now; the normal pages' data follows through
     * {@link #pageData} (or direct placement) in the order of {@link MultifdPacket#normalOffsets()}.
     *
     * @param blockIndex index in the decoder's block list, or -1 when the packet lists no pages
     *                   (QEMU leaves the name empty then)
     */
    void packet(int blockIndex, MultifdPacket header);

    /**
     * A fragment of a normal page's data, as it arrived: {@code data}'s readable bytes belong at
     * {@code offsetInPage} of the page. Copy them into guest memory before returning; {@code data}
     * is the decoder's input, valid only during the call (never retain or release it). A page may
     * come in several fragments when reads split it. Hot path: no allocation expected.
     */
    void pageData(int blockIndex, long pageIndex, int offsetInPage, ByteBuf data);

    /** The page's last byte arrived (fed or placed): the page is whole. */
    void pageComplete(int blockIndex, long pageIndex);

    /**
     * A SYNC packet was read; {@link MultifdDecoder#feed} returns {@link MultifdDecoder.Result#SYNC}
     * right after this, leaving the channel's next bytes unread.
     */
    void sync(long packetNum);
}
