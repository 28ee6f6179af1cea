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
        Disk disk,
        Postcopy postcopy,
        Verification verification) {

    /**
     * Post-copy only: page requests served, and bytes sent before the guest was paused, while it
     * was paused (the switch), and after the destination started running it.
     */
    public record Postcopy(long requests, long bytesBeforePause, long bytesDuringPause, long bytesAfterPause) {
    }

    /** Block migration ({@code storage: copy}) only: image bytes in total, sent, and still to send. */
    public record Disk(long total, long transferred, long remaining) {
    }

    public record Ram(long total, long transferred, long remaining, long duplicate, long normal, long normalBytes,
                      long dirtyPagesRate, double mbps, long dirtySyncCount, long pagesPerSecond, long iterations) {
    }

    /**
     * SHA-256 of guest memory, device state and each disk image (in disk order) at switchover, on
     * each side (verifyChecksums only).
     */
    public record Verification(String sourceMemory, String destinationMemory, String sourceDeviceState,
                               String destinationDeviceState, java.util.List<String> sourceDisks,
                               java.util.List<String> destinationDisks) {
    }
}
