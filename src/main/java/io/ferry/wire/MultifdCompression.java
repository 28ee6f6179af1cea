package io.ferry.wire;

/**
 * How a multifd data packet's normal pages travel: plain, or compressed as one stream per packet
 * (QEMU's {@code multifd-compression}). The method is part of the packet's flags word; a channel
 * carries one method, negotiated before it opened, and zero pages are never compressed (they
 * travel as offsets only, whatever the method).
 *
 * <pre>
 *   flags bits 1..5   QEMU's compression field, compared as a value:
 *                     0 none, 1 zlib, 2 zstd (0x04), 4 qpl, 8 uadk, 16 qatzip
 *   flags bit 6       QEMU's device state (0x40)
 *   flags bit 16      Ferry's lz4 (0x10000): QEMU has no lz4, and its own flags grow upward from
 *                     bit 0, so Ferry's start at bit 16 to never meet them. Never reused.
 * </pre>
 *
 * <p>A compressed packet's {@code next_packet_size} is the compressed size, never above
 * {@link #maxCompressedSize} of its pages (each library's worst case, computed here so the
 * codec stays free of the libraries).
 */
public enum MultifdCompression {

    /** {@code MULTIFD_FLAG_NOCOMP}: the pages follow the header as they are. */
    NONE(0),
    /** {@code MULTIFD_FLAG_ZSTD}: one zstd frame per packet, as QEMU's multifd-zstd writes it. */
    ZSTD(2 << 1),
    /** Ferry's own: one LZ4 block (raw block format, no frame) per packet. */
    LZ4(1 << 16);

    /** Every bit that names a method: QEMU's compression field and Ferry's lz4 bit. */
    public static final int METHOD_MASK = MultifdFormat.FLAG_COMPRESSION_MASK | LZ4.flag;

    private static final int QEMU_ZLIB = 1 << 1;

    private final int flag;

    MultifdCompression(int flag) {
        this.flag = flag;
    }

    /** The method's bits in the flags word. */
    public int flag() {
        return flag;
    }

    /**
     * The method a packet's flags name. SYNC may be set beside it; anything else is refused.
     *
     * @throws MultifdFormatException {@link MultifdError#UNSUPPORTED_FLAGS} for a method Ferry
     *                                does not read (zlib, qpl, uadk, qatzip), two methods at
     *                                once, device state, or an unknown bit
     */
    public static MultifdCompression fromFlags(int flags) {
        int unknown = flags & ~(MultifdFormat.FLAG_SYNC | METHOD_MASK);
        if (unknown != 0) {
            String reason = (unknown & MultifdFormat.FLAG_DEVICE_STATE) != 0 ? "device state packets are not supported"
                    : "unknown flag bits";
            throw new MultifdFormatException(MultifdError.UNSUPPORTED_FLAGS, String.format("flags 0x%x: %s", flags,
                    reason));
        }
        int method = flags & METHOD_MASK;
        for (MultifdCompression candidate : values()) {
            if (candidate.flag == method) {
                return candidate;
            }
        }
        String reason = method == QEMU_ZLIB ? "zlib is not supported"
                : (method & MultifdFormat.FLAG_COMPRESSION_MASK) != 0 && (method & LZ4.flag) != 0
                        ? "two compression methods at once"
                        : "compression method " + ((method & MultifdFormat.FLAG_COMPRESSION_MASK) >>> 1)
                                + " is not supported";
        throw new MultifdFormatException(MultifdError.UNSUPPORTED_FLAGS, String.format("flags 0x%x: %s", flags,
                reason));
    }

    /**
     * The most bytes {@code uncompressed} bytes may become: the input itself without
     * compression; zstd's {@code ZSTD_COMPRESSBOUND}; LZ4's {@code LZ4_COMPRESSBOUND}. The decoder
     * refuses a larger payload before it buffers a byte of it.
     */
    public int maxCompressedSize(int uncompressed) {
        if (uncompressed < 0 || uncompressed > MultifdLimits.MAX_PAGES_ALLOC * MultifdFormat.PAGE_SIZE) {
            throw new IllegalArgumentException("uncompressed size out of range: " + uncompressed);
        }
        return switch (this) {
            case NONE -> uncompressed;
            // zstd.h: srcSize + srcSize/256 + (srcSize < 128 KiB ? (128 KiB - srcSize) >> 11 : 0)
            case ZSTD -> uncompressed + (uncompressed >>> 8)
                    + (uncompressed < (128 << 10) ? ((128 << 10) - uncompressed) >>> 11 : 0);
            // lz4.h: isize + isize/255 + 16
            case LZ4 -> uncompressed + uncompressed / 255 + 16;
        };
    }
}
