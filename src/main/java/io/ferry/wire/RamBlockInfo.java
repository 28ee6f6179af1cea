package io.ferry.wire;

/** One RAM block as the RAM section's block list names it. */
public record RamBlockInfo(String idstr, long usedLength) {
}
