package io.ferry.migration.outgoing;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationSettings;
import io.ferry.guest.RamBlock;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.Xbzrle;
import io.ferry.wire.XbzrleRecord;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a non-zero page of a pre-copy round goes out on the main stream when the job has QEMU's
 * {@code xbzrle} capability ({@code ram_save_page} and {@code save_xbzrle_page}, migration/ram.c):
 *
 * <ul>
 *   <li>the bulk round (before the first dirty sync) and everything from the switch to post-copy
 *       on go plain, and touch no cache: the destination holds nothing yet, or dropped its copies;
 *   <li>a page not in the {@link XbzrleCache} is a <em>miss</em>: it goes plain and is put in
 *       the cache (unless a fresh entry of another page holds its slot);
 *   <li>a page in the cache is a <em>hit</em>, encoded against its copy with the page size as the
 *       limit: an encoding of 0 bytes (unchanged) sends nothing; one over the limit is an
 *       <em>overflow</em> and goes plain; any other goes as an XBZRLE record. The copy becomes
 *       the page as sent, except for an unchanged page.
 * </ul>
 *
 * <p>The page is read from guest memory once, and that one copy is what is encoded, cached and
 * sent plain: the guest writes on meanwhile, and the cache must hold what the destination has.
 * In the last pass (the guest paused) nothing is cached any more, as in QEMU.
 *
 * <p>The counters are QEMU's xbzrle-cache figures. Written by the migration thread only; read by
 * progress snapshots (the rates are volatile, the counts may be a page behind).
 */
final class XbzrlePages {

    /** {@link #write}: the page went as a PAGE record. */
    static final int PLAIN = -1;

    private static final int PAGE = StreamFormat.PAGE_SIZE;
    /** The be64 word of a record with CONTINUE, which QEMU's xbzrle bytes leave out. */
    private static final int WORD = Long.BYTES;

    private final ConvergenceSettings.Xbzrle settings;
    private XbzrleCache cache;
    /** Each block's first byte in QEMU's ram_addr space: the blocks one after another, in list order. */
    private final Map<RamBlock, Long> blockBase = new IdentityHashMap<>();
    /** QEMU's current_buf: the page as read, once. */
    private final ByteBuf current = Unpooled.buffer(PAGE, PAGE);
    /** QEMU's encoded_buf. */
    private final ByteBuf encoded = Unpooled.buffer(PAGE, PAGE);

    /** The dirty-sync count: cache entries' age. Past 0, the bulk round is over (QEMU's xbzrle_started). */
    private long generation;
    private boolean postcopy;
    private boolean lastStage;

    // QEMU's xbzrle_counters.
    private long bytes;
    private long pages;
    private long cacheMiss;
    private long overflow;
    private long unchanged;
    private long encodedPages;
    private long bytesSaved;
    private volatile double cacheMissRate;
    private volatile double encodingRate;
    // At the last sync, for the rates over the round since.
    private long bytesBefore;
    private long pagesBefore;
    private long cacheMissBefore;

    private XbzrlePages(ConvergenceSettings.Xbzrle settings) {
        this.settings = settings;
    }

    /**
     * The job's XBZRLE, on or off.
     *
     * @throws IllegalArgumentException with multifd channels: QEMU's "Multifd is not compatible with
     *                                  xbzrle" (pages on the multifd channels are never encoded)
     */
    static XbzrlePages of(MigrationSettings settings) {
        ConvergenceSettings.Xbzrle xbzrle = settings.convergence().xbzrle();
        if (xbzrle.enabled() && settings.channels() > 1) {
            throw new IllegalArgumentException("XBZRLE works on the main stream only: it does not go with "
                    + settings.channels() + " channels (multifd)");
        }
        return new XbzrlePages(xbzrle);
    }

    /** The guest's blocks, at RAM's setup: the cache is made for them. */
    void setup(List<RamBlock> blocks) {
        long base = 0;
        for (RamBlock block : blocks) {
            blockBase.put(block, base);
            base += block.sizeBytes();
        }
        if (settings.enabled()) {
            cache = new XbzrleCache(settings.cacheSizeBytes(), Math.max(1, base / PAGE));
        }
    }

    /**
     * A dirty sync: from the first on, pages are looked up (the bulk round is over); the rates are
     * taken over the round since the sync before, as QEMU's {@code migration_update_rates} does.
     */
    void sync(long dirtySyncCount) {
        generation = dirtySyncCount;
        long lookups = (pages - pagesBefore) + (cacheMiss - cacheMissBefore);
        cacheMissRate = lookups == 0 ? 0 : (double) (cacheMiss - cacheMissBefore) / lookups;
        long encodedBytes = bytes - bytesBefore;
        encodingRate = pages == pagesBefore || encodedBytes == 0 ? 0
                : (double) (pages - pagesBefore) * PAGE / encodedBytes;
        bytesBefore = bytes;
        pagesBefore = pages;
        cacheMissBefore = cacheMiss;
    }

    /** The switch to post-copy: the destination drops its stale pages; every page goes plain from here. */
    void postcopy() {
        postcopy = true;
    }

    /** The guest paused for the last pass: pages are still encoded, the cache is no longer kept. */
    void lastStage() {
        lastStage = true;
    }

    private boolean active() {
        return cache != null && generation > 0 && !postcopy;
    }

    /**
     * A ZERO record went for the page: its copy becomes zeros (QEMU's {@code xbzrle_cache_zero_page}),
     * so the next change to it is encoded against what the destination has.
     */
    void zeroPageSent(RamBlock block, long page) {
        if (active() && !lastStage) {
            current.clear().writeZero(PAGE);
            cache.insert(address(block, page), current, generation);
        }
    }

    /**
     * Writes the non-zero {@code page} into {@code into} with {@code writer}'s channel state, as an
     * XBZRLE record, a PAGE record, or not at all.
     *
     * @return the XBZRLE record's body bytes; 0 when the page is as the destination has it (nothing
     *         written); {@link #PLAIN} for a PAGE record
     */
    int write(ByteBuf into, RamRecordWriter writer, RamBlock block, long page) {
        long offset = page * PAGE;
        if (!active()) {
            writer.pageHeader(into, block.name(), offset);
            block.readPage(page, into);
            return PLAIN;
        }
        long address = address(block, page);
        current.clear();
        block.readPage(page, current);
        ByteBuf cached = cache.lookup(address, generation);
        if (cached == null) {
            cacheMiss++;
            if (!lastStage) {
                cache.insert(address, current, generation);
            }
            return writePlain(into, writer, block, offset);
        }
        pages++;
        encoded.clear();
        int length = Xbzrle.encode(cached, current, encoded, PAGE);
        if (!lastStage && length != 0) {
            cached.setBytes(0, current, 0, PAGE);
        }
        if (length == 0) {
            unchanged++;
            bytesSaved += PAGE;
            return 0;
        }
        if (length < 0) {
            overflow++;
            bytes += PAGE;
            return writePlain(into, writer, block, offset);
        }
        int start = into.writerIndex();
        writer.xbzrlePage(into, block.name(), offset, encoded);
        bytes += into.writerIndex() - start - WORD;
        encodedPages++;
        int body = XbzrleRecord.HEADER_BYTES + length;
        bytesSaved += PAGE - body;
        return body;
    }

    private int writePlain(ByteBuf into, RamRecordWriter writer, RamBlock block, long offset) {
        writer.pageHeader(into, block.name(), offset);
        into.writeBytes(current, 0, PAGE);
        return PLAIN;
    }

    private long address(RamBlock block, long page) {
        return blockBase.get(block) + page * PAGE;
    }

    /** Pages dealt with but not as PAGE records: sent encoded, or unchanged and not sent. */
    long pagesNotPlain() {
        return encodedPages + unchanged;
    }

    /**
     * QEMU's xbzrle-cache figures; null with XBZRLE off.
     *
     * <ul>
     *   <li>{@code bytes}: XBZRLE records' bytes but their 8-byte word, plus a page per overflow;
     *   <li>{@code pages}: cache hits: encoded, overflowed and unchanged pages alike;
     *   <li>{@code cacheMiss}: pages looked up and not found (sent plain);
     *   <li>{@code cacheMissRate}: misses over lookups in the last round (between dirty syncs);
     *   <li>{@code encodingRate}: page bytes of the last round's hits over their {@code bytes};
     *   <li>{@code overflow}: hits whose encoding was over the page size, sent plain;
     *   <li>{@code bytesSaved}: a page for each unchanged hit, and for each encoded one the page
     *       less its record body (encoding byte, length, encoding): what plain pages would have
     *       cost more. An encoding of 4094 to 4096 bytes, which QEMU still sends, makes it 1 to 3 less.
     * </ul>
     */
    MigrationProgress.Xbzrle progress() {
        if (!settings.enabled()) {
            return null;
        }
        return new MigrationProgress.Xbzrle(settings.cacheSizeBytes(), bytes, pages, cacheMiss, cacheMissRate,
                encodingRate, overflow, bytesSaved);
    }
}
