package io.ferry.wire;

/**
 * Why a multifd channel was refused. Each reason is its own constant so that callers and tests
 * tell them apart by {@link MultifdFormatException#error()}, not by the wording of a message.
 */
public enum MultifdError {

    /** The first word is not {@link MultifdFormat#MAGIC}: not a multifd channel, or lost framing. */
    BAD_MAGIC("not a multifd packet"),
    /** A version other than {@link MultifdFormat#VERSION}. */
    UNSUPPORTED_VERSION("unsupported multifd version"),
    /** Init packet: the source's uuid is not the job this destination expects. */
    JOB_MISMATCH("multifd channel of another job"),
    /** Init packet: a channel id at or beyond the negotiated channel count. */
    CHANNEL_OUT_OF_RANGE("multifd channel id out of range"),
    /**
     * A compression method Ferry does not read (zlib, qpl, uadk, qatzip), two methods at once,
     * device state, or an unknown flag bit.
     */
    UNSUPPORTED_FLAGS("unsupported multifd flags"),
    /** A data packet compressed with another method than the channel negotiated (or none). */
    COMPRESSION_MISMATCH("compression method not negotiated"),
    /** pages_alloc above the limit, or normal_pages + zero_pages above pages_alloc. */
    PAGE_COUNT_OVER_LIMIT("multifd page count over the limit"),
    /** A packet with pages names no known RAM block (unknown, empty, or not NUL-terminated). */
    UNKNOWN_BLOCK("unknown RAM block"),
    /** A page offset at or past the block's used length, or not page aligned. */
    OFFSET_OUTSIDE_BLOCK("page offset outside its block"),
    /**
     * next_packet_size is not normal_pages × page size (without compression), or not 0 for a
     * compressed packet without normal pages, or 0 for one with.
     */
    SIZE_MISMATCH("payload size mismatch"),
    /** A compressed payload above the method's worst case for its pages: more than any compressor writes. */
    COMPRESSED_SIZE_OVER_LIMIT("compressed payload over the limit"),
    /** The compressed payload is not valid data of its method (or decompresses past its pages). */
    CORRUPT_COMPRESSED_DATA("corrupt compressed payload"),
    /** The compressed payload decompressed to fewer bytes than its normal pages. */
    DECOMPRESSED_SIZE_MISMATCH("decompressed size mismatch"),
    /** A SYNC packet that lists pages. */
    SYNC_WITH_PAGES("SYNC packet with pages"),
    /** packet_num not above the previous packet's on this channel (replayed or reordered). */
    PACKET_NUMBER_NOT_INCREASING("packet number not increasing");

    private final String description;

    MultifdError(String description) {
        this.description = description;
    }

    /** A short human description, for messages. */
    public String description() {
        return description;
    }
}
