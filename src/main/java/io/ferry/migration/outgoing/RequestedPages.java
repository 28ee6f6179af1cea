package io.ferry.migration.outgoing;

import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.ReturnPathMessage;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;

/**
 * Post-copy's fault path on the source, with a preempt channel: the pages the destination asks
 * for are copied from the paused guest's memory and written on the preempt channel by that
 * channel's own thread, the moment the request is read (QEMU's dedicated postcopy-preempt
 * thread). Nothing else delays them: not the background push, its rate limit, a full main socket,
 * nor the migration thread, which only hears of the request afterwards, for locality.
 *
 * <p>The guest is paused here, so its pages no longer change and may be read from this thread. A
 * page sent here stays due on the main stream (the two connections are not ordered with each
 * other; the destination keeps the first copy to land), so whether a page is still due is only a
 * hint read across threads: after the switch a page only stops being due, and a stale "due" costs
 * one page twice, never a page. One per preempt connection: its records name their block the way
 * that connection's reader expects (CONTINUE).
 */
final class RequestedPages {

    private final RamPart ram;
    private final OutgoingConnection preempt;
    private final StreamWriter out;
    private final RamRecordWriter records = new RamRecordWriter();

    RequestedPages(RamPart ram, OutgoingConnection preempt, StreamWriter out) {
        this.ram = ram;
        this.preempt = preempt;
        this.out = out;
    }

    /** On the preempt channel's thread: the request's pages still due go out now. */
    void serve(ReturnPathMessage.RequestPages request) {
        int block = ram.blockIndex(request.block());
        if (block < 0) {
            return;   // not a block of this guest: the main stream's END tells the destination it has every page
        }
        long first = request.start() / StreamFormat.PAGE_SIZE;
        long count = request.length() / StreamFormat.PAGE_SIZE;
        long pages = ram.blocks().get(block).pageCount();
        ByteBuf buf = null;
        long payload = 0;
        for (long p = first; p < first + count && p < pages; p++) {
            if (!ram.isDue(block, p)) {
                continue;   // on its way on the main stream already
            }
            if (buf == null) {
                buf = preempt.alloc().directBuffer((int) Math.min(count, 64) * (StreamFormat.PAGE_SIZE + 320));
            }
            buf.ensureWritable(StreamFormat.PAGE_SIZE + 320);
            payload += ram.copyRequestedPage(buf, records, block, p);
        }
        if (buf == null) {
            return;
        }
        int bytes = buf.readableBytes();
        try {
            preempt.writeWithoutWaiting(buf);
        } catch (RuntimeException broken) {
            return;   // the connection is gone: the migration thread pauses post-copy and recovers
        }
        out.preemptWritten(bytes, payload);
    }
}
