package io.ferry.wire;

/**
 * Why an XBZRLE page was refused. The first five are the ways QEMU's {@code xbzrle_decode_buffer}
 * (migration/xbzrle.c) fails, the last three those of the record body read by {@code load_xbzrle}
 * (migration/ram.c). Callers and tests tell them apart by {@link XbzrleFormatException#error()}.
 */
public enum XbzrleError {

    /** Fewer than two bytes left where a run starts: a run is a length and then at least one more byte. */
    TRUNCATED_LENGTH("fewer than two bytes where a run starts"),
    /** A run length whose second byte has the continuation bit: QEMU's lengths are at most 14 bits. */
    LENGTH_OVERFLOW("run length longer than two uleb128 bytes"),
    /** A zero run of 0 anywhere but first, or a data run of 0. */
    EMPTY_RUN("empty run"),
    /** A zero run or data run that ends past the page. */
    RUN_PAST_PAGE("run past the end of the page"),
    /** A data run longer than the bytes left in the encoding. */
    TRUNCATED_DATA("data run past the end of the encoding"),
    /** The body's first byte is not {@link XbzrleRecord#ENCODING_FLAG_XBZRLE}. */
    WRONG_ENCODING("not an XBZRLE encoding"),
    /** A body of length 0: QEMU's sender never writes one (it skips an unchanged page). */
    ENCODED_LENGTH_ZERO("empty encoding"),
    /** A body longer than a page: QEMU's {@code load_xbzrle} refuses it ("len overflow"). */
    ENCODED_LENGTH_OVER_PAGE("encoded length over the page size");

    private final String description;

    XbzrleError(String description) {
        this.description = description;
    }

    /** A short human description, for messages. */
    public String description() {
        return description;
    }
}
