package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The destination's hot path: 64 MiB of PAGE records must decode without allocating per page
 * (16384 pages; any per-page object would cost at least 16 bytes each).
 */
class StreamDecoderAllocationTest {

    private static final int PAGES = 16384;

    private static final class CountingListener implements StreamListener {
        long pages;
        long checksum;

        @Override
        public void ramBlocks(List<RamBlockInfo> blocks) {
        }

        @Override
        public void page(int blockIndex, long pageIndex, ByteBuf data) {
            pages++;
            checksum += data.getLong(data.readerIndex()) + data.getLong(data.writerIndex() - 8) + pageIndex;
        }

        @Override
        public void zeroPage(int blockIndex, long pageIndex, int fill) {
        }

        @Override
        public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
        }

        @Override
        public void endOfStream() {
        }
    }

    private static byte[] stream() {
        ByteBuf out = Unpooled.buffer(PAGES * (StreamFormat.PAGE_SIZE + 16) + 1024);
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 2, StreamFormat.RAM_SECTION, 0, 4);
        List<RamBlockInfo> blocks = List.of(new RamBlockInfo("pc.ram", (long) PAGES / 2 * StreamFormat.PAGE_SIZE),
                new RamBlockInfo("vga.vram", (long) PAGES / 2 * StreamFormat.PAGE_SIZE));
        StreamEncoder.ramBlockList(out, blocks);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 2);
        RamRecordWriter writer = new RamRecordWriter();
        for (int p = 0; p < PAGES; p++) {
            // every 64th page switches block, so named records are on the path too
            String block = (p / 64) % 2 == 0 ? "pc.ram" : "vga.vram";
            writer.pageHeader(out, block, (long) (p / 2) * StreamFormat.PAGE_SIZE);
            out.writerIndex(out.writerIndex() + StreamFormat.PAGE_SIZE);
        }
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        StreamEncoder.eof(out);
        return Feeding.drain(out);
    }

    @Test
    void decodingPagesAllocatesNothingPerPage() {
        java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        assumeThat(threads).isInstanceOf(com.sun.management.ThreadMXBean.class);
        com.sun.management.ThreadMXBean hotspot = (com.sun.management.ThreadMXBean) threads;
        assumeThat(hotspot.isThreadAllocatedMemorySupported()).isTrue();
        hotspot.setThreadAllocatedMemoryEnabled(true);
        byte[] bytes = stream();
        ByteBuf in = Unpooled.wrappedBuffer(bytes);
        try {
            for (int round = 0; round < 3; round++) { // warm up the JIT, measure the last round
                in.readerIndex(0);
                CountingListener listener = new CountingListener();
                StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());
                long thread = Thread.currentThread().getId();
                long before = hotspot.getThreadAllocatedBytes(thread);
                long start = System.nanoTime();

                decoder.feed(in);

                long elapsed = System.nanoTime() - start;
                long allocated = hotspot.getThreadAllocatedBytes(thread) - before;
                assertThat(decoder.finished()).isTrue();
                assertThat(listener.pages).isEqualTo(PAGES);
                if (round == 2) {
                    System.out.printf("decoded %d MiB of PAGE records in %.1f ms (%.0f MiB/s), allocated %d bytes%n",
                            (long) PAGES * StreamFormat.PAGE_SIZE >> 20, elapsed / 1e6,
                            (PAGES * (double) StreamFormat.PAGE_SIZE / (1 << 20)) / (elapsed / 1e9), allocated);
                    assertThat(allocated).as("bytes allocated decoding %d pages", PAGES).isLessThan(PAGES);
                }
            }
        } finally {
            in.release();
        }
    }
}
