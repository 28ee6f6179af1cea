package io.ferry.wire;

import java.util.Arrays;
import java.util.Objects;

/**
 * The header of one multifd data packet (layout in {@link MultifdFormat}); the page data of the
 * normal pages follows it on the wire.
 *
 * <p>The offset arrays are held, not copied (a packet per 512 KiB should cost one small object,
 * not three): whoever builds a packet hands its arrays over, and nobody modifies them afterwards.
 * Equality compares their contents.
 *
 * @param flags         {@link MultifdFormat#FLAG_SYNC} or 0 (no compression)
 * @param pagesAlloc    offset slots in the header, whatever the counts
 * @param blockName     the RAM block's idstr; empty when the packet lists no pages
 * @param packetNum     increasing across the channels of one migration
 * @param normalOffsets byte offsets in the block of the pages whose data follows, in that order
 * @param zeroOffsets   byte offsets in the block of the pages the receiver zeroes
 */
public record MultifdPacket(int flags, int pagesAlloc, String blockName, long packetNum, long[] normalOffsets,
                            long[] zeroOffsets) {

    public MultifdPacket {
        Objects.requireNonNull(blockName, "blockName");
        Objects.requireNonNull(normalOffsets, "normalOffsets");
        Objects.requireNonNull(zeroOffsets, "zeroOffsets");
        if (pagesAlloc < 0) {
            throw new IllegalArgumentException("pagesAlloc must not be negative, got " + pagesAlloc);
        }
        if ((long) normalOffsets.length + zeroOffsets.length > pagesAlloc) {
            throw new IllegalArgumentException(normalOffsets.length + " normal + " + zeroOffsets.length
                    + " zero pages exceed pagesAlloc " + pagesAlloc);
        }
        requirePageOffsets(normalOffsets);
        requirePageOffsets(zeroOffsets);
    }

    private static void requirePageOffsets(long[] offsets) {
        for (long offset : offsets) {
            if (offset < 0 || offset % MultifdFormat.PAGE_SIZE != 0) {
                throw new IllegalArgumentException(String.format("page offset 0x%x is not a page-aligned offset", offset));
            }
        }
    }

    /** A sync point: the receiver holds the channel until the main stream releases it. */
    public boolean isSync() {
        return (flags & MultifdFormat.FLAG_SYNC) != 0;
    }

    /** Pages whose data follows the header. */
    public int normalPages() {
        return normalOffsets.length;
    }

    /** Pages the receiver zeroes. */
    public int zeroPages() {
        return zeroOffsets.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof MultifdPacket p && flags == p.flags && pagesAlloc == p.pagesAlloc
                && packetNum == p.packetNum && blockName.equals(p.blockName)
                && Arrays.equals(normalOffsets, p.normalOffsets) && Arrays.equals(zeroOffsets, p.zeroOffsets);
    }

    @Override
    public int hashCode() {
        return Objects.hash(flags, pagesAlloc, blockName, packetNum, Arrays.hashCode(normalOffsets),
                Arrays.hashCode(zeroOffsets));
    }

    @Override
    public String toString() {
        return "MultifdPacket[flags=" + flags + ", pagesAlloc=" + pagesAlloc + ", blockName=" + blockName
                + ", packetNum=" + packetNum + ", normalOffsets=" + Arrays.toString(normalOffsets)
                + ", zeroOffsets=" + Arrays.toString(zeroOffsets) + "]";
    }
}
