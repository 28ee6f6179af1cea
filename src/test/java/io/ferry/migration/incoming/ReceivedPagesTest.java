package io.ferry.migration.incoming;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.guest.GuestMemory;
import io.ferry.guest.RamBlockSpec;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ReceivedPagesTest {

    @Test
    void aPageIsNewOnceAndSentBeforeEveryTimeAfter() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 1 << 20),
                new RamBlockSpec("vga", 64 << 10)))) {
            ReceivedPages received = new ReceivedPages(memory.blocks());
            assertThat(received.mark(0, 63)).isFalse();
            assertThat(received.mark(0, 63)).isTrue();
            assertThat(received.mark(0, 64)).as("the next word").isFalse();
            assertThat(received.mark(1, 63)).as("another block").isFalse();
            assertThat(received.mark(1, 15)).isFalse();
        }
    }

    @Test
    void channelsMarkingTheSameWordAtOnceLoseNoMark() {
        try (GuestMemory memory = GuestMemory.allocate(List.of(new RamBlockSpec("pc.ram", 4 << 20)))) {
            ReceivedPages received = new ReceivedPages(memory.blocks());
            AtomicInteger firsts = new AtomicInteger();
            List<CompletableFuture<Void>> threads = java.util.stream.IntStream.range(0, 4).mapToObj(t ->
                    CompletableFuture.runAsync(() -> {
                        for (long page = 0; page < 1024; page++) {
                            if (!received.mark(0, page)) {
                                firsts.incrementAndGet();
                            }
                        }
                    })).toList();
            threads.forEach(CompletableFuture::join);
            assertThat(firsts.get()).as("each page new exactly once").isEqualTo(1024);
        }
    }
}
