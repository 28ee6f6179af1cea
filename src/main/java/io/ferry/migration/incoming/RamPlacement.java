package io.ferry.migration.incoming;

import io.ferry.guest.RamBlock;
import io.ferry.migration.PhaseMachine;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.Xbzrle;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;

/**
 * The stream's RAM page records placed into the incoming guest's memory: whole pages, zero (or
 * filled) pages and XBZRLE pages, with the post-copy and phase checks they need. Called by
 * {@link IncomingMigration}'s stream callbacks, under its lock.
 */
final class RamPlacement {

    private final List<RamBlock> blocks;
    /** Pages sent here so far: a zero page for one never sent needs nothing done. */
    private final ReceivedPages received;
    private final PhaseMachine<IncomingPhase> phases;
    private final PostcopyDestination postcopy;

    RamPlacement(List<RamBlock> blocks, ReceivedPages received, PhaseMachine<IncomingPhase> phases,
                 PostcopyDestination postcopy) {
        this.blocks = blocks;
        this.received = received;
        this.phases = phases;
        this.postcopy = postcopy;
    }

    void page(int blockIndex, long pageIndex, ByteBuf data) {
        if (!postcopy.claim(blockIndex, pageIndex)) {
            return;   // present (the guest may have written it since: never overwritten), or the other channel places it
        }
        blocks.get(blockIndex).writePage(pageIndex, data, data.readerIndex());
        received.mark(blockIndex, pageIndex);
        postcopy.arrived(blockIndex, pageIndex);
    }

    void zeroPage(int blockIndex, long pageIndex, int fill) {
        if (!postcopy.claim(blockIndex, pageIndex)) {
            return;
        }
        zeroPageNow(blockIndex, pageIndex, fill);
        postcopy.arrived(blockIndex, pageIndex);
    }

    /** An XBZRLE page (checked by the decoder): applied in place to the copy here, as QEMU's load_xbzrle does. */
    void xbzrlePage(int blockIndex, long pageIndex, ByteBuf encoding) {
        IncomingPhase now = phases.current();
        if (!now.acceptsXbzrle()) {
            throw new StreamFormatException("XBZRLE page " + pageIndex + " of RAM block " + blocks.get(blockIndex).name()
                    + " in phase " + now + ": after POSTCOPY_LISTEN pages come whole");
        }
        Xbzrle.decode(encoding, blocks.get(blockIndex).pageView(pageIndex));
        received.mark(blockIndex, pageIndex);
        postcopy.arrived(blockIndex, pageIndex);
    }

    private void zeroPageNow(int blockIndex, long pageIndex, int fill) {
        RamBlock block = blocks.get(blockIndex);
        boolean sentBefore = received.mark(blockIndex, pageIndex);
        if (fill == 0) {
            if (sentBefore) {
                block.zeroPage(pageIndex);   // an older copy arrived: zero it (a page never sent is zero already)
            }
        } else {
            ByteBuf filled = Unpooled.buffer(StreamFormat.PAGE_SIZE).writeZero(StreamFormat.PAGE_SIZE);
            for (int i = 0; i < StreamFormat.PAGE_SIZE; i++) {
                filled.setByte(i, fill);
            }
            block.writePage(pageIndex, filled);
            filled.release();
        }
    }
}
