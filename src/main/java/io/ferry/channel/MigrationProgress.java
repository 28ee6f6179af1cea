package io.ferry.channel;

/**
 * QEMU's query-migrate figures for one job, as the source measures them. Times in ms, sizes in
 * bytes, {@code mbps} in decimal megabits per second. Null where not known yet.
 */
public record MigrationProgress(
        long setupTimeMs,
        long totalTimeMs,
        Long expectedDowntimeMs,
        Long downtimeMs,
        Ram ram,
        Verification verification) {

    public record Ram(long total, long transferred, long remaining, long duplicate, long normal, long normalBytes,
                      long dirtyPagesRate, double mbps, long dirtySyncCount, long pagesPerSecond, long iterations) {
    }

    /** SHA-256 of guest memory and device state at switchover, on each side (verifyChecksums only). */
    public record Verification(String sourceMemory, String destinationMemory, String sourceDeviceState,
                               String destinationDeviceState) {
    }
}
