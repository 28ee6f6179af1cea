package io.ferry.guest;

import static io.ferry.guest.GuestFixtures.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {

    @Test
    void freshMemoryReadsAllZero() {
        // 128 MiB exercises the mmap path (no explicit zeroing), 4 MiB the zeroed-by-hand path.
        try (GuestMemory memory = GuestMemory.allocate(List.of(
                new RamBlockSpec("pc.ram", 128 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)))) {
            for (RamBlock block : memory.blocks()) {
                for (long page = 0; page < block.pageCount(); page++) {
                    assertThat(block.isZeroPage(page)).as("%s page %d", block.name(), page).isTrue();
                }
            }
            assertThat(memory.totalPages()).isEqualTo(132 * MIB / 4096);
        }
    }

    @Test
    void aSingleNonZeroByteAnywhereInAPageMakesItNonZero() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 16 * MIB)))) {
            RamBlock block = memory.block("pc.ram");
            ByteBuf view = block.view(3, 1);
            for (int offset = 0; offset < RamBlock.PAGE_SIZE; offset++) {
                view.setByte(offset, offset % 2 == 0 ? 1 : 0x80);
                assertThat(block.isZeroPage(3)).as("byte %d set", offset).isFalse();
                assertThat(block.isZeroPage(2) && block.isZeroPage(4)).as("neighbours untouched").isTrue();
                view.setByte(offset, 0);
                assertThat(block.isZeroPage(3)).as("byte %d cleared", offset).isTrue();
            }
        }
    }

    @Test
    void pageWrittenWithWritePageReadsBackThroughPageView() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 16 * MIB)))) {
            RamBlock block = memory.block("pc.ram");
            byte[] content = randomPage(7);
            ByteBuf src = Unpooled.wrappedBuffer(content);

            block.writePage(100, src);

            assertThat(src.readableBytes()).isZero();
            ByteBuf view = block.pageView(100);
            try {
                assertThat(view.readableBytes()).isEqualTo(RamBlock.PAGE_SIZE);
                assertThat(ByteBufUtil.getBytes(view)).isEqualTo(content);
            } finally {
                view.release();
            }
            assertThat(block.isZeroPage(100)).isFalse();
            assertThat(block.isZeroPage(99)).isTrue();
            assertThat(block.isZeroPage(101)).isTrue();
        }
    }

    @Test
    void writesThroughAViewChangeGuestMemory() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 16 * MIB)))) {
            RamBlock block = memory.block("pc.ram");
            ByteBuf view = block.view(10, 2);
            view.setByte(RamBlock.PAGE_SIZE + 4095, 1);
            view.release();

            assertThat(block.isZeroPage(10)).isTrue();
            assertThat(block.isZeroPage(11)).isFalse();
        }
    }

    @Test
    void viewAcrossAnAllocationChunkSeesBothSides() {
        // 2 GiB is only reserved: just the two pages around the 1 GiB chunk boundary get touched.
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 2L << 30)))) {
            RamBlock block = memory.block("pc.ram");
            long lastOfFirstChunk = (1L << 30) / RamBlock.PAGE_SIZE - 1;
            byte[] a = randomPage(1);
            byte[] b = randomPage(2);
            block.writePage(lastOfFirstChunk, Unpooled.wrappedBuffer(a));
            block.writePage(lastOfFirstChunk + 1, Unpooled.wrappedBuffer(b));

            ByteBuf view = block.view(lastOfFirstChunk, 2);
            try {
                byte[] both = ByteBufUtil.getBytes(view);
                assertThat(both).hasSize(2 * RamBlock.PAGE_SIZE);
                assertThat(Arrays.copyOfRange(both, 0, RamBlock.PAGE_SIZE)).isEqualTo(a);
                assertThat(Arrays.copyOfRange(both, RamBlock.PAGE_SIZE, both.length)).isEqualTo(b);
            } finally {
                view.release();
            }
        }
    }

    @Test
    void zeroPageClearsAPage() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 16 * MIB)))) {
            RamBlock block = memory.block("pc.ram");
            block.writePage(5, Unpooled.wrappedBuffer(randomPage(3)));

            block.zeroPage(5);

            assertThat(block.isZeroPage(5)).isTrue();
        }
    }

    @Test
    void pageIndexOutsideTheBlockIsRejected() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 16 * MIB)))) {
            RamBlock block = memory.block("pc.ram");
            long pages = block.pageCount();
            ByteBuf page = Unpooled.wrappedBuffer(new byte[RamBlock.PAGE_SIZE]);

            assertThatThrownBy(() -> block.pageView(pages)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> block.pageView(-1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> block.isZeroPage(pages)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> block.zeroPage(pages)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> block.writePage(pages, page)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> block.view(pages - 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> block.view(0, -1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(page.readerIndex()).isZero();
        }
    }

    @Test
    void closeIsIdempotentAndLaterAccessFailsCleanly() {
        GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 16 * MIB)));
        RamBlock block = memory.block("pc.ram");

        memory.close();
        memory.close();

        assertThat(memory.isClosed()).isTrue();
        assertThatIllegalStateException().isThrownBy(() -> block.pageView(0));
        assertThatIllegalStateException().isThrownBy(() -> block.isZeroPage(0));
    }

    @Test
    void reserving64GiBCommitsAlmostNothing() throws IOException {
        long before = residentBytes();
        try (GuestMemory memory = GuestMemory.allocate(List.of(
                new RamBlockSpec("pc.ram", 63L << 30), new RamBlockSpec("pc.ram.high", 1L << 30)))) {
            assertThat(memory.totalBytes()).isEqualTo(64L << 30);
            // A few scattered writes commit their pages only.
            for (RamBlock block : memory.blocks()) {
                block.writePage(block.pageCount() - 1, Unpooled.wrappedBuffer(randomPage(9)));
            }
            long grown = residentBytes() - before;
            assertThat(grown).as("RSS growth in bytes").isLessThan(32 * MIB);
        }
    }

    @Test
    void aPrefaultCommitsTheMemoryAndKeepsEveryByteWrittenMeanwhile() throws Exception {
        long before = residentBytes();
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 192 * MIB)))) {
            RamBlock block = memory.block("pc.ram");
            memory.prefaultInBackground("prefault-test");
            // pages written while the pre-fault runs over the same range (as arriving pages are)
            SplittableRandom random = new SplittableRandom(5);
            long[] written = new long[2000];
            for (int i = 0; i < written.length; i++) {
                written[i] = random.nextLong(block.pageCount());
                block.writePage(written[i], Unpooled.wrappedBuffer(randomPage(written[i])));
            }
            assertThat(memory.prefaultDone().get(2, java.util.concurrent.TimeUnit.MINUTES)).isEqualTo(192 * MIB);
            assertThat(memory.prefaultedBytes()).isEqualTo(192 * MIB);
            assertThat(residentBytes() - before).as("RSS growth").isGreaterThan(150 * MIB);
            for (long page : written) {
                assertThat(ByteBufUtil.getBytes(block.pageView(page))).as("page %d", page).isEqualTo(randomPage(page));
            }
            assertThat(block.isZeroPage(block.pageCount() - 1) || Arrays.stream(written)
                    .anyMatch(p -> p == block.pageCount() - 1)).as("untouched pages still read zero").isTrue();
        }
    }

    @Test
    void closingDuringAPrefaultWaitsForItAndFreesEverything() {
        GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 256 * MIB)));
        memory.prefaultInBackground("close-test");
        memory.close();   // must not free memory a pre-fault thread is still advising
        assertThat(memory.isClosed()).isTrue();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("prefault-close-test"));
    }

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) * 1024; // reported in kB
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    static byte[] randomPage(long seed) {
        byte[] page = new byte[RamBlock.PAGE_SIZE];
        new SplittableRandom(seed).nextBytes(page);
        page[0] = 1; // never all zero
        return page;
    }
}
