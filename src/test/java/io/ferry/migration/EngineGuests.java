package io.ferry.migration;

import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.loopback.LoopbackMigration;
import java.util.List;
import java.util.UUID;

/** The guests and checks the engine tests share. */
final class EngineGuests {

    private static final long MIB = 1L << 20;

    private EngineGuests() {
    }

    /** A guest of {@code memory} bytes in two RAM blocks (pc.ram and a 4 MiB vga.vram), no disks. */
    static GuestSpec twoBlocks(long memory, WorkloadSpec workload) {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", memory - 4 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)),
                List.of(), 4096, workload);
    }

    /** The destination's memory digest as its VERIFIED report gave it (a job with verifyChecksums). */
    static String destinationMemory(LoopbackMigration loopback) {
        return loopback.reports().stream()
                .filter(r -> r.progress() != null && r.progress().verification() != null
                        && r.progress().verification().destinationMemory() != null)
                .map(r -> r.progress().verification().destinationMemory())
                .findFirst().orElseThrow();
    }
}
