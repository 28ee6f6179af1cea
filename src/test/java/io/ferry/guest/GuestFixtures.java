package io.ferry.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

final class GuestFixtures {

    static final long MIB = 1L << 20;

    private GuestFixtures() {
    }

    /** The smallest legal guest: 16 MiB in two blocks, one 1 MiB disk. */
    static GuestSpec smallGuest(String id, WorkloadSpec workload) {
        return new GuestSpec(id,
                List.of(new RamBlockSpec("pc.ram", 12 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(new DiskSpec("disk-0", "virtio-disk0", MIB)),
                4096, workload);
    }

    static SyntheticGuest create(GuestSpec spec, Path dir) {
        try {
            return SyntheticGuest.create(spec, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256OfZeros(long length) {
        MessageDigest digest = Sha256.newDigest();
        byte[] zeros = new byte[1 << 20];
        for (long done = 0; done < length; done += zeros.length) {
            digest.update(zeros, 0, (int) Math.min(zeros.length, length - done));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(Sha256.newDigest().digest(bytes));
    }

    static long dirtyPages(SyntheticGuest guest) {
        return guest.memory().blocks().stream().mapToLong(b -> guest.dirtyLog(b.name()).count()).sum();
    }
}
