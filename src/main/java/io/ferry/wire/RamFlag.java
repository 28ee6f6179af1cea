package io.ferry.wire;

/**
 * Flags in the low bits of a RAM record's be64 word (QEMU's RAM_SAVE_FLAG_*). Codes are never
 * reused: retired ones stay here, marked unsupported, so a stream that uses them is refused by
 * name rather than misread.
 */
public enum RamFlag {
    /** Obsolete since 2009; never sent. */
    FULL(0x01, false),
    /** Page filled with one byte value (1 byte follows). */
    ZERO(0x02, true),
    /** RAM block list (setup only); the address part holds the total size. */
    MEM_SIZE(0x04, true),
    /** 4096 raw bytes follow. */
    PAGE(0x08, true),
    /** End of this section's RAM payload. */
    EOS(0x10, true),
    /** Same block as the previous record on this channel: no idstr follows. */
    CONTINUE(0x20, true),
    /** XBZRLE delta; not supported by this engine yet. */
    XBZRLE(0x40, false),
    /** RDMA hook; never supported. */
    HOOK(0x80, false),
    /** Multi-thread zlib page; removed from QEMU in 9.1. */
    COMPRESS_PAGE(0x100, false),
    /** Multifd receive sync; multifd not supported yet. */
    MULTIFD_FLUSH(0x200, false);

    private static final RamFlag[] BY_BIT = new RamFlag[12];

    static {
        for (RamFlag f : values()) {
            BY_BIT[Integer.numberOfTrailingZeros(f.code)] = f;
        }
    }

    private final int code;
    private final boolean supported;

    RamFlag(int code, boolean supported) {
        this.code = code;
        this.supported = supported;
    }

    public int code() {
        return code;
    }

    public boolean supported() {
        return supported;
    }

    /** The flag with exactly this code; unknown codes are refused. */
    public static RamFlag of(int code) {
        if (Integer.bitCount(code) == 1) {
            int bit = Integer.numberOfTrailingZeros(code);
            if (bit < BY_BIT.length && BY_BIT[bit] != null) {
                return BY_BIT[bit];
            }
        }
        throw new StreamFormatException("unknown RAM flag 0x" + Integer.toHexString(code));
    }
}
