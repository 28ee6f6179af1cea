package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationProgress;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.StorageMode;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.wire.RamFlag;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.Xbzrle;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source's decision for each re-sent page, step by step as QEMU's save_xbzrle_page takes it,
 * with the records checked on bytes (an XBZRLE record applied to the destination's copy gives the
 * page) and every counter after every step.
 */
class XbzrlePagesTest {

    private static final int PAGE = 4096;
    private static final long MIB = 1L << 20;

    @TempDir
    Path datastore;

    private SyntheticGuest guest;
    private RamBlock block;
    private final RamRecordWriter writer = new RamRecordWriter();
    private final Random random = new Random(11);
    /** The page as the destination has it: what the records written so far make of it. */
    private byte[] destination = new byte[PAGE];

    @BeforeEach
    void guest() throws Exception {
        guest = SyntheticGuest.create(new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 16 * MIB)), List.of(), 4096, WorkloadSpec.idle()), datastore);
        block = guest.memory().blocks().get(0);
    }

    @AfterEach
    void close() {
        guest.close();
    }

    private static MigrationSettings settings(boolean enabled, long cacheSize, int channels) {
        return new MigrationSettings(0, 300, false, StorageMode.SHARED, MigrationSettings.PostcopySettings.OFF, channels,
                new ConvergenceSettings(ConvergenceSettings.AutoConverge.OFF,
                        new ConvergenceSettings.Xbzrle(enabled, cacheSize), ConvergenceSettings.Compression.NONE));
    }

    private XbzrlePages pages(boolean enabled) {
        XbzrlePages pages = XbzrlePages.of(settings(enabled, 64 * MIB, 1));
        pages.setup(guest.memory().blocks());
        return pages;
    }

    private byte[] guestPage(long page) {
        ByteBuf buf = Unpooled.buffer(PAGE);
        block.readPage(page, buf);
        return ByteBufUtil.getBytes(buf);
    }

    private void write(long page, byte[] bytes) {
        block.writePage(page, Unpooled.wrappedBuffer(bytes));
    }

    private void change(long page, int offset, int length) {
        byte[] bytes = guestPage(page);
        for (int i = offset; i < offset + length; i++) {
            bytes[i] = (byte) ~bytes[i];
        }
        write(page, bytes);
    }

    /**
     * Sends page 5 and applies what was written to {@link #destination}, as the destination
     * would; returns what {@link XbzrlePages#write} did.
     */
    private int send(XbzrlePages pages) {
        ByteBuf out = Unpooled.buffer();
        int result = pages.write(out, writer, block, 5);
        if (result == 0) {
            assertThat(out.readableBytes()).as("an unchanged page sends nothing").isZero();
            return result;
        }
        long word = out.readLong();
        assertThat(word & ~0xFFFL).isEqualTo(5L * PAGE);
        if ((word & RamFlag.CONTINUE.code()) == 0) {
            out.skipBytes(1 + out.getUnsignedByte(out.readerIndex()));
        }
        if (result == XbzrlePages.PLAIN) {
            assertThat(word & RamFlag.PAGE.code()).isNotZero();
            destination = ByteBufUtil.getBytes(out, out.readerIndex(), PAGE);
            assertThat(out.readableBytes()).isEqualTo(PAGE);
        } else {
            assertThat(word & RamFlag.XBZRLE.code()).isNotZero();
            assertThat(out.readByte()).isEqualTo((byte) 1);
            int length = out.readUnsignedShort();
            assertThat(result).isEqualTo(3 + length);
            ByteBuf page = Unpooled.wrappedBuffer(destination.clone());
            Xbzrle.decode(out.readSlice(length), page);
            destination = ByteBufUtil.getBytes(page);
        }
        return result;
    }

    private static void assertFigures(MigrationProgress.Xbzrle figures, long bytes, long hits, long misses,
                                      long overflow, long saved) {
        assertThat(figures.bytes()).as("bytes").isEqualTo(bytes);
        assertThat(figures.pages()).as("pages (hits)").isEqualTo(hits);
        assertThat(figures.cacheMiss()).as("cache misses").isEqualTo(misses);
        assertThat(figures.overflow()).as("overflow").isEqualTo(overflow);
        assertThat(figures.bytesSaved()).as("bytes saved").isEqualTo(saved);
    }

    @Test
    void eachResentPageGoesAsQemuSendsIt() {
        XbzrlePages pages = pages(true);
        byte[] first = new byte[PAGE];
        random.nextBytes(first);
        write(5, first);

        // the bulk round: plain, nothing looked up or cached
        assertThat(send(pages)).isEqualTo(XbzrlePages.PLAIN);
        assertFigures(pages.progress(), 0, 0, 0, 0, 0);
        pages.sync(1);

        // a miss: plain, and cached as sent
        change(5, 0, 8);
        assertThat(send(pages)).isEqualTo(XbzrlePages.PLAIN);
        assertFigures(pages.progress(), 0, 0, 1, 0, 0);

        // a hit: 8 bytes changed at 100 → zero run 100, data run 8, the bytes: 64 08 + 8 = 10 bytes
        change(5, 100, 8);
        assertThat(send(pages)).isEqualTo(3 + 10);
        assertThat(destination).isEqualTo(guestPage(5));
        assertFigures(pages.progress(), 13, 1, 1, 0, PAGE - 13);

        // unchanged since: nothing sent, a whole page saved
        assertThat(send(pages)).isZero();
        assertFigures(pages.progress(), 13, 2, 1, 0, PAGE - 13 + PAGE);

        // changed everywhere: overflow, plain, a page counted in bytes
        byte[] rewritten = new byte[PAGE];
        random.nextBytes(rewritten);
        write(5, rewritten);
        assertThat(send(pages)).isEqualTo(XbzrlePages.PLAIN);
        assertThat(destination).isEqualTo(rewritten);
        assertFigures(pages.progress(), 13 + PAGE, 3, 1, 1, PAGE - 13 + PAGE);

        // ... and cached as sent: the next change is encoded against it
        change(5, 4095, 1);
        assertThat(send(pages)).isEqualTo(3 + 4);   // ff 1f (4095), 01, the byte
        assertThat(destination).isEqualTo(guestPage(5));

        // a zero page went: its copy is zeros now, and a byte written into it is encoded against them
        block.zeroPage(5);
        pages.zeroPageSent(block, 5);
        destination = new byte[PAGE];
        change(5, 0, 1);
        assertThat(send(pages)).isEqualTo(3 + 3);   // 00 01 ff
        assertThat(destination).isEqualTo(guestPage(5));

        // the rates over the round: 1 miss in 6 lookups; 5 hits' page bytes over their bytes
        long bytes = pages.progress().bytes();
        assertThat(bytes).isEqualTo(13 + PAGE + 7 + 6);
        pages.sync(2);
        assertThat(pages.progress().cacheMissRate()).isEqualTo(1.0 / 6);
        assertThat(pages.progress().encodingRate()).isEqualTo(5.0 * PAGE / bytes);
        assertThat(pages.pagesNotPlain()).as("3 encoded, 1 unchanged").isEqualTo(4);
        pages.sync(3);
        assertThat(pages.progress().encodingRate()).as("a round without hits").isZero();
        assertThat(pages.progress().cacheMissRate()).isZero();
    }

    @Test
    void theLastStageEncodesButNoLongerCaches() {
        XbzrlePages pages = pages(true);
        change(5, 0, 64);
        send(pages);
        pages.sync(1);
        send(pages);                                  // miss: cached
        byte[] cached = guestPage(5);
        pages.lastStage();
        change(5, 200, 2);
        assertThat(send(pages)).isPositive();
        assertThat(destination).isEqualTo(guestPage(5));
        // the copy is still the page before the last stage: a second change is encoded against it
        change(5, 300, 1);
        ByteBuf out = Unpooled.buffer();
        int body = pages.write(out, writer, block, 5);
        ByteBuf encoding = out.skipBytes(Long.BYTES + 3).readSlice(body - 3);
        ByteBuf page = Unpooled.wrappedBuffer(cached);
        Xbzrle.decode(encoding, page);
        assertThat(ByteBufUtil.getBytes(page)).isEqualTo(guestPage(5));
        // a miss is not cached either
        long misses = pages.progress().cacheMiss();
        assertThat(pages.write(Unpooled.buffer(), writer, block, 6)).isEqualTo(XbzrlePages.PLAIN);
        assertThat(pages.write(Unpooled.buffer(), writer, block, 6)).isEqualTo(XbzrlePages.PLAIN);
        assertThat(pages.progress().cacheMiss()).isEqualTo(misses + 2);
    }

    @Test
    void afterTheSwitchToPostcopyEveryPageGoesPlain() {
        XbzrlePages pages = pages(true);
        change(5, 0, 64);
        send(pages);
        pages.sync(1);
        send(pages);
        pages.postcopy();
        change(5, 0, 1);
        assertThat(send(pages)).isEqualTo(XbzrlePages.PLAIN);
        assertThat(destination).isEqualTo(guestPage(5));
        assertFigures(pages.progress(), 0, 0, 1, 0, 0);
    }

    @Test
    void offItSendsEveryPagePlainAndReportsNothing() {
        XbzrlePages pages = pages(false);
        change(5, 0, 64);
        pages.sync(1);
        send(pages);
        change(5, 0, 1);
        assertThat(send(pages)).isEqualTo(XbzrlePages.PLAIN);
        assertThat(pages.progress()).isNull();
    }

    @Test
    void multifdChannelsAndXbzrleAreRefused() {
        assertThatThrownBy(() -> XbzrlePages.of(settings(true, 64 * MIB, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 channels");
        assertThat(XbzrlePages.of(settings(false, 64 * MIB, 4)).progress()).isNull();
    }
}
