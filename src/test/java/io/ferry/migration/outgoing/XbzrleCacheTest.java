package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** QEMU's page cache rules (migration/page_cache.c): power-of-two slots, a page's slot, and the lifetime of an entry. */
class XbzrleCacheTest {

    private static final int PAGE = 4096;

    private static ByteBuf page(int fill) {
        byte[] bytes = new byte[PAGE];
        Arrays.fill(bytes, (byte) fill);
        return Unpooled.wrappedBuffer(bytes);
    }

    private static long address(long page) {
        return page * PAGE;
    }

    @Test
    void slotsAreThePowerOfTwoBelowTheSize_NeverMoreThanTheGuestNeeds() {
        assertThat(new XbzrleCache(5 * PAGE, 1000).slots()).isEqualTo(4);
        assertThat(new XbzrleCache(PAGE, 1000).slots()).isEqualTo(1);
        assertThat(new XbzrleCache(64L << 20, 100).slots()).as("100 pages fit 128 slots").isEqualTo(128);
        assertThat(new XbzrleCache(64L << 20, 128).slots()).isEqualTo(128);
        assertThat(new XbzrleCache(5 * PAGE, 1000).sizeBytes()).as("the size asked for").isEqualTo(5 * PAGE);
        assertThatThrownBy(() -> new XbzrleCache(PAGE - 1, 10)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPageIsFoundAsItWasInserted() {
        XbzrleCache cache = new XbzrleCache(4 * PAGE, 1000);
        assertThat(cache.lookup(address(1), 1)).isNull();
        ByteBuf source = page(7);
        ByteBuf copy = cache.insert(address(1), source, 1);
        source.setByte(0, 9);   // a copy, not a view
        assertThat(ByteBufUtil.getBytes(cache.lookup(address(1), 1))).containsOnly((byte) 7);
        assertThat(copy.readableBytes()).isEqualTo(PAGE);
        assertThat(cache.lookup(address(5), 1)).as("same slot, another page").isNull();
    }

    @Test
    void anotherPagesEntryIsKeptForTwoGenerationsAfterItsLastUse() {
        XbzrleCache cache = new XbzrleCache(4 * PAGE, 1000);
        cache.insert(address(0), page(1), 1);
        assertThat(cache.insert(address(4), page(2), 2)).as("inserted 1 generation ago").isNull();
        assertThat(cache.lookup(address(0), 2)).as("kept, and its age renewed to 2").isNotNull();
        assertThat(cache.insert(address(4), page(2), 3)).isNull();
        assertThat(cache.insert(address(4), page(2), 4)).as("2 generations old: replaced").isNotNull();
        assertThat(cache.lookup(address(0), 4)).isNull();
        assertThat(ByteBufUtil.getBytes(cache.lookup(address(4), 4))).containsOnly((byte) 2);
        // the same page is always updated, however fresh
        assertThat(cache.insert(address(4), page(3), 4)).isNotNull();
        assertThat(ByteBufUtil.getBytes(cache.lookup(address(4), 4))).containsOnly((byte) 3);
    }
}
