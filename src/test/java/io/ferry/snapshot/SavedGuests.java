package io.ferry.snapshot;

import io.ferry.guest.DiskImage;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** Guests with something in them to save: random pages among zero ones, disks with data and holes. */
final class SavedGuests {

    static final long MIB = 1L << 20;

    private SavedGuests() {
    }

    /**
     * 16 MiB in two blocks; a 1 MiB disk and a 2.5 MiB one (its last chunk is padded in the
     * stream); a workload that writes memory, disks and device state until {@link #paused} stops it.
     */
    static GuestSpec spec(String id) {
        return new GuestSpec(id,
                List.of(new RamBlockSpec("pc.ram", 12 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(new DiskSpec("disk-0", "virtio-disk0", MIB), new DiskSpec("disk-1", "virtio-disk1", 5 * MIB / 2)),
                4096, new WorkloadSpec(20_000, 0.5, 2_000, 7));
    }

    /** A running guest from {@code spec} with random content, let run a moment, then paused. */
    static SyntheticGuest paused(GuestSpec spec, Path datastore) throws IOException, InterruptedException {
        SyntheticGuest guest = SyntheticGuest.create(spec, datastore);
        Random random = new Random(42);
        for (RamBlock block : guest.memory().blocks()) {
            fillSomePages(block, random);
        }
        for (DiskImage disk : guest.disks()) {
            byte[] data = new byte[DiskImage.BLOCK_SIZE];
            for (long b = 0; b < disk.blockCount(); b += 3) {
                random.nextBytes(data);
                disk.write(b, ByteBuffer.wrap(data));
            }
        }
        Thread.sleep(200);   // the workload writes memory, disks and the device state's counters
        guest.pause();
        return guest;
    }

    /** Random bytes in about a third of the pages, the rest left zero. */
    static void fillSomePages(RamBlock block, Random random) {
        byte[] page = new byte[RamBlock.PAGE_SIZE];
        for (long p = 0; p < block.pageCount(); p++) {
            if (random.nextInt(3) == 0) {
                random.nextBytes(page);
                block.writePage(p, Unpooled.wrappedBuffer(page));
            }
        }
    }
}
