package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Stateless writers of multifd data packet headers (layout in {@link MultifdFormat}). The caller
 * appends the normal pages' data itself, {@code normalCount × PAGE_SIZE} bytes in offset order
 * (e.g. views of guest memory, so the pages go out without a copy), or, for a compressed packet,
 * the compressed stream after {@link #compressedPayload} marked the header. A channel's init
 * packet is {@link MultifdInit#encode}.
 */
public final class MultifdEncoder {

    private static final byte[] NO_NAME = new byte[0];
    private static final long[] NO_OFFSETS = new long[0];

    private MultifdEncoder() {
    }

    /** The header of {@code header}, at full length. */
    public static void packetHeader(ByteBuf out, MultifdPacket header) {
        byte[] name = header.blockName().getBytes(StandardCharsets.UTF_8);
        packetHeader(out, header.flags(), header.pagesAlloc(), name, header.packetNum(), header.normalOffsets(),
                header.normalPages(), header.zeroOffsets(), header.zeroPages());
    }

    /**
     * A SYNC packet: no pages, no block name, next_packet_size 0, full-length header.
     *
     * @param pagesAlloc the channel's usual pages_alloc; QEMU sends it unchanged on SYNC packets
     */
    public static void sync(ByteBuf out, long packetNum, int pagesAlloc) {
        packetHeader(out, MultifdFormat.FLAG_SYNC, pagesAlloc, NO_NAME, packetNum, NO_OFFSETS, 0, NO_OFFSETS, 0);
    }

    /**
     * The sender's hot path: a header for pages gathered in reusable arrays, allocating nothing.
     * The first {@code normalCount} entries of {@code normal} and {@code zeroCount} of
     * {@code zero} are written; slots up to {@code pagesAlloc} are zero. Only what would break the
     * framing is checked here; offsets are the sender's own (the destination checks them anyway).
     *
     * @param blockNameBytes the block's idstr in UTF-8, at most 255 bytes (empty for no pages)
     */
    public static void packetHeader(ByteBuf out, int flags, int pagesAlloc, byte[] blockNameBytes, long packetNum,
                                    long[] normal, int normalCount, long[] zero, int zeroCount) {
        Objects.requireNonNull(blockNameBytes, "blockNameBytes");
        if (pagesAlloc < 0 || pagesAlloc > MultifdLimits.MAX_PAGES_ALLOC) {
            throw new IllegalArgumentException("pagesAlloc must be in 0.." + MultifdLimits.MAX_PAGES_ALLOC + ", got "
                    + pagesAlloc);
        }
        if (normalCount < 0 || normalCount > normal.length || zeroCount < 0 || zeroCount > zero.length) {
            throw new IllegalArgumentException("page counts " + normalCount + "/" + zeroCount + " outside their arrays");
        }
        int used = normalCount + zeroCount;
        if (used > pagesAlloc) {
            throw new IllegalArgumentException(normalCount + " normal + " + zeroCount + " zero pages exceed pagesAlloc "
                    + pagesAlloc);
        }
        if (blockNameBytes.length >= MultifdFormat.BLOCK_NAME_FIELD) {
            throw new IllegalArgumentException("block name is " + blockNameBytes.length + " bytes, at most "
                    + (MultifdFormat.BLOCK_NAME_FIELD - 1) + " fit before the NUL");
        }
        out.ensureWritable(MultifdFormat.headerLength(pagesAlloc));
        out.writeInt(MultifdFormat.MAGIC);
        out.writeInt(MultifdFormat.VERSION);
        out.writeInt(flags);
        out.writeInt(pagesAlloc);
        out.writeInt(normalCount);
        out.writeInt(normalCount * MultifdFormat.PAGE_SIZE); // at most 1024 pages: no overflow
        out.writeLong(packetNum);
        out.writeInt(zeroCount);
        out.writeZero(MultifdFormat.BLOCK_NAME_AT - MultifdFormat.ZERO_PAGES_AT - Integer.BYTES);
        out.writeBytes(blockNameBytes);
        out.writeZero(MultifdFormat.BLOCK_NAME_FIELD - blockNameBytes.length);
        for (int k = 0; k < normalCount; k++) {
            out.writeLong(normal[k]);
        }
        for (int k = 0; k < zeroCount; k++) {
            out.writeLong(zero[k]);
        }
        out.writeZero(Long.BYTES * (pagesAlloc - used));
    }

    /**
     * Turns the header just written at {@code headerIndex} of {@code out} (by
     * {@link #packetHeader}) into a compressed packet's: the method's flag beside the others, and
     * next_packet_size the compressed size. A packet without normal pages keeps size 0 but
     * carries the flag, as QEMU's multifd-zstd sends it.
     *
     * @throws IllegalArgumentException for {@link MultifdCompression#NONE}, a header already
     *                                  naming a method, or a size the destination would refuse
     */
    public static void compressedPayload(ByteBuf out, int headerIndex, MultifdCompression method,
                                         int compressedSize) {
        Objects.requireNonNull(method, "method");
        if (method == MultifdCompression.NONE) {
            throw new IllegalArgumentException("a compressed payload needs a compression method");
        }
        int flags = out.getInt(headerIndex + MultifdFormat.FLAGS_AT);
        if ((flags & MultifdCompression.METHOD_MASK) != 0) {
            throw new IllegalArgumentException(String.format("flags 0x%x already name a compression method", flags));
        }
        int plainSize = out.getInt(headerIndex + MultifdFormat.NEXT_PACKET_SIZE_AT);
        boolean pages = plainSize > 0;
        if (pages ? compressedSize < 1 || compressedSize > method.maxCompressedSize(plainSize) : compressedSize != 0) {
            throw new IllegalArgumentException("compressed size " + compressedSize + " for " + plainSize
                    + " bytes of pages (at most " + method.maxCompressedSize(plainSize) + ", and 0 exactly for none)");
        }
        out.setInt(headerIndex + MultifdFormat.FLAGS_AT, flags | method.flag());
        out.setInt(headerIndex + MultifdFormat.NEXT_PACKET_SIZE_AT, compressedSize);
    }
}
