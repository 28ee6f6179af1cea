package io.ferry.wire;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One entry of the RAM block list in the {@code ram} START section: the block's idstr (a counted
 * string, 1..255 bytes) and its used length in bytes (a positive multiple of the page size).
 */
public record RamBlockInfo(String idstr, long usedLength) {

    public RamBlockInfo {
        Objects.requireNonNull(idstr, "idstr");
        int bytes = idstr.getBytes(StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > StreamFormat.MAX_COUNTED_STRING) {
            throw new IllegalArgumentException("RAM block idstr must be 1.." + StreamFormat.MAX_COUNTED_STRING
                    + " bytes, got " + bytes + ": '" + idstr + "'");
        }
        if (usedLength <= 0 || usedLength % StreamFormat.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("RAM block '" + idstr + "' length must be a positive multiple of "
                    + StreamFormat.PAGE_SIZE + ", got " + usedLength);
        }
    }

    /** Number of pages in the block. */
    public long pageCount() {
        return usedLength / StreamFormat.PAGE_SIZE;
    }
}
