package io.ferry.wire;

/**
 * The constants of QEMU's multifd channels (capability {@code multifd}), as Ferry writes and reads
 * them. Each extra channel starts with a {@link MultifdInit} packet, then carries data packets:
 *
 * <pre>
 *   offset  size              field (all big-endian)
 *        0  be32              magic 0x11223344
 *        4  be32              version 1
 *        8  be32              flags: bit 0 SYNC; bits 1..5 QEMU's compression (0 none, 0x04 zstd);
 *                             0x40 device state (refused); 0x10000 Ferry's lz4 ({@link MultifdCompression})
 *       12  be32              pages_alloc: offset slots in this header (128 for 4 KiB pages)
 *       16  be32              normal_pages: pages whose data follows the header
 *       20  be32              next_packet_size: payload bytes after the header (normal_pages × 4096,
 *                             or the compressed size: one stream per packet, zero pages never in it)
 *       24  be64              packet_num: increasing across all channels, so strictly on each
 *       32  be32              zero_pages: pages the receiver zeroes, no data
 *       36  28                reserved (0)
 *       64  256               RAM block idstr, NUL-padded (empty when the packet lists no pages)
 *      320  8 × pages_alloc   be64 byte offsets in the block: normal pages, then zero pages, then 0
 *   then normal_pages × 4096 bytes of page data, in the order of the normal offsets (compressed:
 *   next_packet_size bytes that decompress to exactly that)
 * </pre>
 *
 * <p>The header is always sent at full length, whatever the counts. A SYNC packet lists no pages:
 * the receiver stops at it until the main stream's MULTIFD_FLUSH (or EOS) releases all channels,
 * so pages of one round are placed before the next round's can overwrite them.
 */
public final class MultifdFormat {

    /** {@code MULTIFD_MAGIC}, for the init packet and every data packet. */
    public static final int MAGIC = 0x11223344;
    /** {@code MULTIFD_VERSION}: the only version read or written. */
    public static final int VERSION = 1;
    /** {@code MULTIFD_FLAG_SYNC}: the packet is a sync point and lists no pages. */
    public static final int FLAG_SYNC = 0x01;
    /** QEMU's compression method field, bits 1..5, compared as a value (see {@link MultifdCompression}). */
    public static final int FLAG_COMPRESSION_MASK = 0x1f << 1;
    /** {@code MULTIFD_FLAG_DEVICE_STATE} (QEMU 10.0): VFIO state blobs, a different layout, refused. */
    public static final int FLAG_DEVICE_STATE = 0x40;

    public static final int PAGE_SIZE = StreamFormat.PAGE_SIZE;
    /** QEMU's {@code MULTIFD_PACKET_SIZE} (512 KiB) in 4 KiB pages: the pages_alloc it sends. */
    public static final int PAGES_PER_PACKET = 128;

    /** Length of the {@link MultifdInit} packet. */
    public static final int INIT_LENGTH = 64;
    /** Length of a data packet's header before its offset slots. */
    public static final int HEADER_FIXED = 320;
    /** The NUL-padded idstr field: a name may use 255 bytes, as the last must be NUL. */
    public static final int BLOCK_NAME_FIELD = 256;

    // Field offsets in a data packet header.
    static final int FLAGS_AT = 8;
    static final int PAGES_ALLOC_AT = 12;
    static final int NORMAL_PAGES_AT = 16;
    static final int NEXT_PACKET_SIZE_AT = 20;
    static final int PACKET_NUM_AT = 24;
    static final int ZERO_PAGES_AT = 32;
    static final int BLOCK_NAME_AT = 64;
    static final int OFFSETS_AT = HEADER_FIXED;

    // Field offsets in the init packet.
    static final int INIT_UUID_AT = 8;
    static final int INIT_CHANNEL_AT = 24;

    private MultifdFormat() {
    }

    /** Bytes of a data packet header with {@code pagesAlloc} offset slots: 320 + 8 × pagesAlloc. */
    public static int headerLength(int pagesAlloc) {
        if (pagesAlloc < 0 || pagesAlloc > (Integer.MAX_VALUE - HEADER_FIXED) / Long.BYTES) {
            throw new IllegalArgumentException("pages_alloc out of range: " + pagesAlloc);
        }
        return HEADER_FIXED + Long.BYTES * pagesAlloc;
    }
}
