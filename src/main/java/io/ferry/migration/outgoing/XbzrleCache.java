package io.ferry.migration.outgoing;

import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;

/**
 * QEMU's XBZRLE page cache ({@code migration/page_cache.c}): copies of pages as they were last
 * sent, which an XBZRLE page is encoded against. A fixed table of {@code pow2floor(size / page)}
 * slots; a page's slot is its page number (across all RAM blocks, as QEMU's ram_addr) modulo the
 * slot count, so two pages may compete for one slot.
 *
 * <p>Ages are dirty-sync generations. A hit renews its entry's age; an insert replaces another
 * page's entry only once that entry is {@link #LIFETIME} generations old, so a page being re-sent
 * keeps its copy against one sent once and never again (QEMU's {@code CACHED_PAGE_LIFETIME}).
 *
 * <p>A slot's copy is allocated the first time the slot is used, as QEMU's are, so a large cache
 * costs only what the re-sent pages fill of it. The migration thread's alone; not thread-safe.
 */
final class XbzrleCache {

    /** QEMU's {@code CACHED_PAGE_LIFETIME}: generations an entry is kept from another page. */
    static final long LIFETIME = 2;

    private static final int PAGE = StreamFormat.PAGE_SIZE;

    private final long sizeBytes;
    private final int slotMask;
    /** Per slot: the address (byte offset across all blocks) of the page held, -1 for none. */
    private final long[] addresses;
    /** Per slot: the generation it was inserted or last hit in. */
    private final long[] ages;
    /** Per slot: the copy, readable bytes = one page; null until first used. */
    private final ByteBuf[] copies;

    /**
     * @param sizeBytes  QEMU's xbzrle-cache-size: at least a page; rounded down to a power of two pages
     * @param guestPages the guest's pages: slots past the power of two that holds them all would
     *                   stay empty, so there are never more (a cache larger than the guest costs no tables)
     */
    XbzrleCache(long sizeBytes, long guestPages) {
        if (sizeBytes < PAGE || guestPages < 1) {
            throw new IllegalArgumentException("the XBZRLE cache must hold at least one page, was " + sizeBytes
                    + " bytes for " + guestPages + " guest pages");
        }
        long allPages = Long.highestOneBit(guestPages) == guestPages ? guestPages : Long.highestOneBit(guestPages) << 1;
        long pages = Math.min(Long.highestOneBit(sizeBytes / PAGE), Math.min(allPages, 1L << 30));
        this.sizeBytes = sizeBytes;
        this.slotMask = (int) (pages - 1);
        this.addresses = new long[(int) pages];
        this.ages = new long[(int) pages];
        this.copies = new ByteBuf[(int) pages];
        Arrays.fill(addresses, -1);
    }

    /** The size asked for (QEMU reports that, not the slots' total). */
    long sizeBytes() {
        return sizeBytes;
    }

    int slots() {
        return addresses.length;
    }

    /**
     * QEMU's {@code cache_is_cached} and {@code get_cached_data}: the copy of the page at
     * {@code address}, its age renewed to {@code generation}; null when the slot holds none of it.
     * Writing into the copy changes the cache.
     */
    ByteBuf lookup(long address, long generation) {
        int slot = slot(address);
        if (addresses[slot] != address) {
            return null;
        }
        ages[slot] = generation;
        return copies[slot];
    }

    /**
     * QEMU's {@code cache_insert}: copies {@code page}'s readable bytes (left unread) in as the
     * page at {@code address}; returns the copy, or null when the slot holds another page inserted
     * or hit less than {@link #LIFETIME} generations ago (that one stays).
     */
    ByteBuf insert(long address, ByteBuf page, long generation) {
        int slot = slot(address);
        if (addresses[slot] >= 0 && addresses[slot] != address && ages[slot] + LIFETIME > generation) {
            return null;
        }
        ByteBuf copy = copies[slot];
        if (copy == null) {
            copy = Unpooled.buffer(PAGE, PAGE);
            copies[slot] = copy;
        }
        copy.setBytes(0, page, page.readerIndex(), PAGE);
        copy.setIndex(0, PAGE);
        addresses[slot] = address;
        ages[slot] = generation;
        return copy;
    }

    private int slot(long address) {
        return (int) (address / PAGE) & slotMask;
    }
}
