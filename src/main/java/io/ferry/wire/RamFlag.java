package io.ferry.wire;

/**
 * The {@code RAM_SAVE_FLAG_*} bits of a RAM record's address word.
 *
 * <p>Every RAM record starts with a be64 word: the page's byte offset inside its RAM block, OR-ed
 * with flags in the bits below the page size. With 4 KiB pages:
 *
 * <pre>
 *   63                                        12 11 10 9                      0
 *  +--------------------------------------------+-----+------------------------+
 *  |   page offset in the block (page-aligned)  | 0 0 |   flags (this enum)    |
 *  +--------------------------------------------+-----+------------------------+
 *
 *  page record, block named:      | word | u8 n | n bytes block idstr | body |
 *  page record, same block:       | word (flags include CONTINUE)     | body |
 *     ZERO body: u8 fill byte (0 in practice)
 *     PAGE body: PAGE_SIZE raw bytes
 *     XBZRLE body: u8 0x01 | be16 n | n bytes of encoding (1 <= n <= PAGE_SIZE)
 *  block list (START only):       | word = total bytes | MEM_SIZE |
 *                                 then per block: | u8 n | idstr | be64 used_length |
 *                                 until the lengths add up to the total
 *  end of the section's RAM:      | word = EOS (0x10) |
 * </pre>
 *
 * <p>Bits 0x400 and 0x800 are never flags: QEMU keeps flags at or below 0x200 because its smallest
 * target page is 1 KiB. With 4 KiB pages they can only mean an offset that is not page-aligned.
 *
 * <p>Codes are QEMU's and are never reused. Retired or unsupported flags keep their code so that
 * a stream using them is refused by name rather than misread ({@link #reserved()}).
 */
public enum RamFlag {

    /** Obsolete since 2009, never sent. Reserved. */
    FULL(0x01, true),
    /** Page filled with one byte; one fill byte follows. Historically {@code COMPRESS}. */
    ZERO(0x02, false),
    /** RAM block list (setup only); the address part holds the total byte count. */
    MEM_SIZE(0x04, false),
    /** PAGE_SIZE raw bytes follow. */
    PAGE(0x08, false),
    /** End of this section's RAM payload; a standalone word. */
    EOS(0x10, false),
    /** Same block as the previous page record on this channel; no idstr follows. */
    CONTINUE(0x20, false),
    /**
     * XBZRLE-encoded delta of a page the destination holds an older copy of (pre-copy, main
     * channel only); its body is drawn in {@link XbzrleRecord}, its encoding in {@link Xbzrle}.
     */
    XBZRLE(0x40, false),
    /** RDMA hooks only. Reserved. */
    HOOK(0x80, true),
    /** Multi-thread zlib page; removed in QEMU 9.1 with the {@code compress} capability. Reserved. */
    COMPRESS_PAGE(0x100, true),
    /**
     * Standalone "multifd receive sync now" word (QEMU 8.0+): every page sent on the multifd
     * channels before it is placed before the main stream goes on.
     */
    MULTIFD_FLUSH(0x200, false);

    /** Every bit QEMU can use for a flag; anything else below the page size is offset. */
    public static final int FLAG_BITS = 0x3FF;

    private static final RamFlag[] BY_BIT = new RamFlag[Integer.SIZE];

    static {
        for (RamFlag flag : values()) {
            BY_BIT[Integer.numberOfTrailingZeros(flag.code)] = flag;
        }
    }

    private final int code;
    private final boolean reserved;

    RamFlag(int code, boolean reserved) {
        this.code = code;
        this.reserved = reserved;
    }

    /** The bit on the wire. */
    public int code() {
        return code;
    }

    /** Retired or unsupported: kept so its code is never given another meaning, refused when read. */
    public boolean reserved() {
        return reserved;
    }

    /**
     * The flag with this exact code.
     *
     * @throws StreamFormatException if no flag has this code (several bits, zero, or an unknown bit)
     */
    public static RamFlag valueOf(int code) {
        if (Integer.bitCount(code) == 1) {
            RamFlag flag = BY_BIT[Integer.numberOfTrailingZeros(code)];
            if (flag != null) {
                return flag;
            }
        }
        throw new StreamFormatException(String.format("Unknown RAM flag 0x%x", code));
    }

    /** Whether {@code flags} has this flag's bit. */
    public boolean isSet(int flags) {
        return (flags & code) != 0;
    }
}
