package io.ferry.migration.outgoing;

import io.ferry.channel.MigrationProgress;
import io.ferry.guest.DirtyBitmap;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.TransferMeter;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Map;

/**
 * QEMU's {@code ram} section on the source: the block list at setup, then rounds of the pages the
 * guest dirtied (a bulk round first, with every page), each page once a round, an all-zero page
 * as a header only; on the multifd channels when the job has them. Post-copy serves its pages from
 * here too ({@link PostcopySource}): the discards, requested pages, the push, and after a
 * recovery the pages the destination's bitmaps say it lacks, all on the main stream (QEMU from
 * 10.0: multifd carries the pre-copy rounds, each ended by a sync, so every page a channel took
 * is placed before the destination reads the discards). With XBZRLE, a round's non-zero
 * pages on the main stream go as {@link XbzrlePages} decides.
 *
 * <p>Written by the migration thread only; the counters are read by progress snapshots.
 */
final class RamPart implements StreamPart {

    static final int SECTION_ID = 1;
    /** Pages sent together before the round looks at the loop again (cancel, post-copy). */
    static final int RUN_PAGES = 64;

    private final SyntheticGuest guest;
    private final XbzrlePages xbzrle;
    private List<RamBlock> blocks = List.of();
    /** Per block, a bit for every page still to send. */
    private long[][] toSend;
    /** The main stream's "last block", for CONTINUE; a new stream starts over. */
    private RamRecordWriter records = new RamRecordWriter();
    private long lastSyncNanos;
    /** Post-copy has begun: pages go on the main stream, whatever channels the job has. */
    private boolean postcopy;

    // QEMU's query-migrate counters.
    private long duplicate;
    private long normal;
    private long dirtySyncCount;
    private long remainingPages;
    private long dirtyPagesRate;

    RamPart(SyntheticGuest guest, XbzrlePages xbzrle) {
        this.guest = guest;
        this.xbzrle = xbzrle;
    }

    /**
     * The block list; every page is due. The dirty log starts here: writes from now on are sent
     * again in a later round.
     */
    @Override
    public void setup(StreamWriter out) {
        blocks = guest.memory().blocks();
        xbzrle.setup(blocks);
        ByteBuf batch = out.batch();
        StreamEncoder.sectionStart(batch, StreamFormat.SECTION_START, SECTION_ID, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(batch, blocks.stream().map(b -> new RamBlockInfo(b.name(), b.sizeBytes())).toList());
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, SECTION_ID);
        toSend = new long[blocks.size()][];
        for (int i = 0; i < blocks.size(); i++) {
            DirtyBitmap all = new DirtyBitmap(blocks.get(i).pageCount());
            all.markAll();
            toSend[i] = new long[all.wordCount()];
            all.syncAndClear(toSend[i]);
            guest.dirtyLog(blocks.get(i).name()).syncAndClear(new long[toSend[i].length]);
        }
        // QEMU's count: every page is dirty before the bulk round, and each page sent is one fewer
        remainingPages = blocks.stream().mapToLong(RamBlock::pageCount).sum();
        lastSyncNanos = System.nanoTime();
    }

    @Override
    public void iterate(StreamWriter out, Round round) throws InterruptedException {
        sendRound(out, StreamFormat.SECTION_PART, true, round);
    }

    /** Also QEMU's dirty-pages-rate: the pages found dirty over the time since the last sync. */
    @Override
    public long sync() {
        long now = System.nanoTime();
        remainingPages = takeDirtyLog();
        dirtyPagesRate = (long) (remainingPages / Math.max((now - lastSyncNanos) / 1e9, 1e-3));
        lastSyncNanos = now;
        return remainingPages * StreamFormat.PAGE_SIZE;
    }

    @Override
    public void completePrecopy(StreamWriter out) throws InterruptedException {
        remainingPages = takeDirtyLog();   // every page still marked: the sync counts them all
        xbzrle.lastStage();
        sendRound(out, StreamFormat.SECTION_END, false, null);
        remainingPages = 0;
    }

    /**
     * Sends every due page as one section, clearing the marks. A rate-limited round looks at
     * {@code round} after each run and may end early: the rest stays due.
     */
    private void sendRound(StreamWriter out, byte sectionType, boolean rateLimited, Round round)
            throws InterruptedException {
        out.ensureRoom(64);
        StreamEncoder.sectionPart(out.batch(), sectionType, SECTION_ID);
        scan:
        for (int b = 0; b < blocks.size(); b++) {
            RamBlock block = blocks.get(b);
            long[] bits = toSend[b];
            long page = DirtyBitmap.nextSetBit(bits, 0);
            while (page >= 0) {
                int run = 1;
                while (run < RUN_PAGES && page + run < block.pageCount() && DirtyBitmap.isSet(bits, page + run)) {
                    run++;
                }
                sendRun(out, block, page, run, rateLimited, TransferMeter.Kind.RAM);
                for (int i = 0; i < run; i++) {
                    clear(bits, page + i);
                }
                remainingPages = Math.max(0, remainingPages - run);
                if (rateLimited && round.stop()) {
                    break scan;   // the rest stays marked: post-copy sends it
                }
                page = DirtyBitmap.nextSetBit(bits, page + run);
            }
        }
        out.ensureRoom(64);
        if (out.multifd()) {
            // the round's pages are placed on the destination before it reads past this word
            out.syncMultifd(rateLimited);
            StreamEncoder.multifdFlush(out.batch());
        }
        StreamEncoder.ramEos(out.batch());
        StreamEncoder.footer(out.batch(), SECTION_ID);
        out.flush(rateLimited);
    }

    private void sendRun(StreamWriter out, RamBlock block, long firstPage, int pages, boolean rateLimited,
                         TransferMeter.Kind kind) throws InterruptedException {
        if (out.multifd() && !postcopy) {
            for (long page = firstPage; page < firstPage + pages; page++) {
                boolean zero = block.isZeroPage(page);
                if (zero) {
                    duplicate++;
                } else {
                    normal++;   // its payload counts when its packet is written (StreamWriter)
                }
                out.queuePage(block, page, zero, kind, rateLimited);
            }
            return;
        }
        for (int i = 0; i < pages; i++) {
            out.ensureRoom(StreamFormat.PAGE_SIZE + 300, rateLimited);
            writePage(out, out.batch(), records, block, firstPage + i, kind);
        }
    }

    /**
     * One page record (a ZERO record for an all-zero page; XBZRLE's, or none, as {@link XbzrlePages}
     * decides) into {@code into}, with {@code writer}'s channel state; its payload counts as {@code kind}.
     */
    private void writePage(StreamWriter out, ByteBuf into, RamRecordWriter writer, RamBlock block, long page,
                           TransferMeter.Kind kind) {
        if (block.isZeroPage(page)) {
            writer.zeroPage(into, block.name(), page * StreamFormat.PAGE_SIZE);
            xbzrle.zeroPageSent(block, page);
            duplicate++;   // QEMU's duplicate (zero) and normal page counts
            return;
        }
        int body = xbzrle.write(into, writer, block, page);
        if (body == XbzrlePages.PLAIN) {
            normal++;
            out.payload(kind, StreamFormat.PAGE_SIZE);
        } else {
            out.payload(kind, body);
        }
    }

    private static void clear(long[] bits, long page) {
        bits[(int) (page >>> 6)] &= ~(1L << page);
    }

    /** Moves the guest's dirty log into what is due; returns how many pages are due now. */
    private long takeDirtyLog() {
        long count = 0;
        for (int b = 0; b < blocks.size(); b++) {
            long[] taken = new long[toSend[b].length];
            guest.dirtyLog(blocks.get(b).name()).syncAndClear(taken);
            long[] bits = toSend[b];
            for (int w = 0; w < bits.length; w++) {
                bits[w] |= taken[w];
                count += Long.bitCount(bits[w]);
            }
        }
        dirtySyncCount++;
        xbzrle.sync(dirtySyncCount);
        return count;
    }

    // ---- post-copy: the pages the destination still lacks, served by PostcopySource ----

    /** The switch to post-copy, the guest paused: the last sync; what is due now is post-copy's work. */
    void syncForPostcopy() {
        postcopy = true;
        xbzrle.postcopy();
        remainingPages = takeDirtyLog();
    }

    /** QEMU's discards: the destination drops its stale copy of every page still due before the guest runs there. */
    void writeDiscards(StreamWriter out) throws InterruptedException {
        PostcopyDiscards.write(blocks, toSend, () -> {
            out.ensureRoom(512);
            return out.batch();
        });
    }

    List<RamBlock> blocks() {
        return blocks;
    }

    /** The index of the block named {@code name}, or -1. */
    int blockIndex(String name) {
        for (int b = 0; b < blocks.size(); b++) {
            if (blocks.get(b).name().equals(name)) {
                return b;
            }
        }
        return -1;
    }

    boolean isDue(int block, long page) {
        return DirtyBitmap.isSet(toSend[block], page);
    }

    /** The first due page of {@code block} at or after {@code from}, else from its start; -1 when none is due. */
    long nextDue(int block, long from) {
        long page = DirtyBitmap.nextSetBit(toSend[block], from);
        return page >= 0 ? page : DirtyBitmap.nextSetBit(toSend[block], 0);
    }

    /** Up to {@code max} due pages from {@code first} on, into the batch, each cleared once sent (never twice). */
    void sendPages(StreamWriter out, int block, long first, int max, TransferMeter.Kind kind)
            throws InterruptedException {
        RamBlock ram = blocks.get(block);
        long[] bits = toSend[block];
        for (long p = first; p < first + max && p < ram.pageCount(); p++) {
            if (DirtyBitmap.isSet(bits, p)) {
                sendRun(out, ram, p, 1, false, kind);
                clear(bits, p);
                remainingPages--;
            }
        }
    }

    /**
     * Post-copy's fault path, on the preempt channel's thread: one page into {@code into} for that
     * channel ({@code writer}: its CONTINUE state); it stays due on the main stream. Reads only what
     * no longer changes once the guest is paused here (its pages, the block list); counts nothing
     * (the caller accounts the bytes). Returns the payload bytes: a page, or 0 for a zero page.
     */
    int copyRequestedPage(ByteBuf into, RamRecordWriter writer, int block, long page) {
        RamBlock ram = blocks.get(block);
        long offset = page * StreamFormat.PAGE_SIZE;
        if (ram.isZeroPage(page)) {
            writer.zeroPage(into, ram.name(), offset);
            return 0;
        }
        writer.pageHeader(into, ram.name(), offset);
        ram.readPage(page, into);
        return StreamFormat.PAGE_SIZE;
    }

    /** The push's section: a PART that ends with the last page, then an empty END. */
    void beginPush(StreamWriter out) throws InterruptedException {
        out.ensureRoom(64);
        StreamEncoder.sectionPart(out.batch(), StreamFormat.SECTION_PART, SECTION_ID);
    }

    void endPush(StreamWriter out) throws InterruptedException {
        out.ensureRoom(64);
        ByteBuf batch = out.batch();
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, SECTION_ID);
        StreamEncoder.sectionPart(batch, StreamFormat.SECTION_END, SECTION_ID);
        StreamEncoder.ramEos(batch);
        StreamEncoder.footer(batch, SECTION_ID);
    }

    /** A new main connection: its reader knows no block yet, so the next record names its block. */
    void newStream() {
        records = new RamRecordWriter();
    }

    /**
     * A post-copy recovery: every page the destination's received-pages bitmaps ({@code received},
     * by block) do not mark is due again (this side's copy is final: the guest is paused here).
     * Returns how many.
     */
    long dueExcept(Map<String, long[]> received) {
        long missing = 0;
        for (int b = 0; b < blocks.size(); b++) {
            long[] has = received.get(blocks.get(b).name());
            if (has == null || has.length != toSend[b].length) {
                throw new MigrationFailure("the destination's bitmap of RAM block " + blocks.get(b).name() + " has "
                        + (has == null ? "no" : has.length) + " words, expected " + toSend[b].length);
            }
            DirtyBitmap valid = new DirtyBitmap(blocks.get(b).pageCount());
            valid.markAll();
            long[] all = new long[toSend[b].length];
            valid.syncAndClear(all);
            for (int w = 0; w < all.length; w++) {
                toSend[b][w] = all[w] & ~has[w];
                missing += Long.bitCount(toSend[b][w]);
            }
        }
        remainingPages = missing;
        return missing;
    }

    // ---- counters ----

    long pagesSent() {
        return normal + duplicate + xbzrle.pagesNotPlain();
    }

    /** QEMU's xbzrle-cache figures; null with XBZRLE off. */
    MigrationProgress.Xbzrle xbzrleProgress() {
        return xbzrle.progress();
    }

    long duplicate() {
        return duplicate;
    }

    long normal() {
        return normal;
    }

    long dirtySyncCount() {
        return dirtySyncCount;
    }

    long remainingPages() {
        return remainingPages;
    }

    long dirtyPagesRate() {
        return dirtyPagesRate;
    }
}
