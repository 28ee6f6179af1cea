package io.ferry.migration.outgoing;

import io.ferry.guest.DirtyBitmap;
import io.ferry.guest.RamBlock;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * QEMU's discard step at the switch to post-copy: every page still to send, as byte ranges per
 * block, {@link StreamFormat#MAX_DISCARDS_PER_COMMAND} ranges a command, so the destination
 * knows which of its pages are stale before the guest runs there.
 */
final class PostcopyDiscards {

    /** Where the commands go: a buffer with room for one more command (512 bytes). */
    interface Room {
        ByteBuf forCommand() throws InterruptedException;
    }

    private PostcopyDiscards() {
    }

    static void write(List<RamBlock> blocks, long[][] toSend, Room room) throws InterruptedException {
        long[] starts = new long[StreamFormat.MAX_DISCARDS_PER_COMMAND];
        long[] lengths = new long[StreamFormat.MAX_DISCARDS_PER_COMMAND];
        for (int b = 0; b < blocks.size(); b++) {
            long[] bits = toSend[b];
            int n = 0;
            long page = DirtyBitmap.nextSetBit(bits, 0);
            while (page >= 0) {
                long end = page;
                while (end + 1 < blocks.get(b).pageCount() && DirtyBitmap.isSet(bits, end + 1)) {
                    end++;
                }
                starts[n] = page * StreamFormat.PAGE_SIZE;
                lengths[n] = (end - page + 1) * StreamFormat.PAGE_SIZE;
                if (++n == starts.length) {
                    StreamEncoder.postcopyDiscard(room.forCommand(), blocks.get(b).name(), starts, lengths, 0, n);
                    n = 0;
                }
                page = DirtyBitmap.nextSetBit(bits, end + 1);
            }
            if (n > 0) {
                StreamEncoder.postcopyDiscard(room.forCommand(), blocks.get(b).name(), starts, lengths, 0, n);
            }
        }
    }
}
