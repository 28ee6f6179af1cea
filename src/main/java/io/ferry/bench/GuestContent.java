package io.ferry.bench;

import io.ferry.guest.RamBlock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** What benchmarks and engine tests fill guest memory with, seeded so both sides can be compared. */
public final class GuestContent {

    private GuestContent() {
    }

    /** Random bytes: every page costs a full page on the wire and does not compress. */
    public static void fillRandom(RamBlock block, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        // heap, not direct: the tests run Netty's paranoid leak detector, which records every access
        // to a direct buffer (512 writes a page), and filling took seconds per MiB
        ByteBuf page = Unpooled.buffer(4096);
        try {
            for (long p = 0; p < block.pageCount(); p++) {
                page.clear();
                for (int i = 0; i < 4096; i += 8) {
                    page.writeLong(random.nextLong());
                }
                block.writePage(p, page);
            }
        } finally {
            page.release();
        }
    }

    /**
     * Text-like pages (words and numbers, as a guest's page cache holds): they compress about
     * 2..4 times, and differ page by page. Every 16th page is left zero.
     */
    public static void fillText(RamBlock block, long seed) {
        String[] words = {"migration ", "page ", "dirty ", "guest ", "kernel ", "buffer ", "inode ", "\n", "= "};
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuf page = Unpooled.buffer(4096);
        StringBuilder text = new StringBuilder(4200);
        try {
            for (long p = 0; p < block.pageCount(); p++) {
                if (p % 16 == 15) {
                    continue;
                }
                text.setLength(0);
                while (text.length() < 4096) {
                    text.append(words[random.nextInt(words.length)]).append(random.nextInt(100_000));
                }
                page.clear().writeBytes(text.toString().getBytes(StandardCharsets.US_ASCII), 0, 4096);
                block.writePage(p, page);
            }
        } finally {
            page.release();
        }
    }
}
