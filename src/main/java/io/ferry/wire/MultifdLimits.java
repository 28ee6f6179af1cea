package io.ferry.wire;

/**
 * Hard limits a {@link MultifdDecoder} enforces before it trusts a count read from a channel. The
 * header buffer is sized from them once, so a peer cannot make a channel hold more than one
 * header's worth of bytes (at most 320 + 8 × 1024).
 *
 * @param maxPagesAlloc the largest pages_alloc accepted, 1..{@link #MAX_PAGES_ALLOC}; QEMU refuses
 *                      a pages_alloc above its own, so the default is what QEMU sends
 */
public record MultifdLimits(int maxPagesAlloc) {

    /** 4 MiB of pages per packet; also the most {@link MultifdEncoder} writes. */
    public static final int MAX_PAGES_ALLOC = 1024;

    public MultifdLimits {
        if (maxPagesAlloc < 1 || maxPagesAlloc > MAX_PAGES_ALLOC) {
            throw new IllegalArgumentException("maxPagesAlloc must be in 1.." + MAX_PAGES_ALLOC + ", got " + maxPagesAlloc);
        }
    }

    /** {@link MultifdFormat#PAGES_PER_PACKET} (128) pages per packet. */
    public static MultifdLimits defaults() {
        return new MultifdLimits(MultifdFormat.PAGES_PER_PACKET);
    }
}
