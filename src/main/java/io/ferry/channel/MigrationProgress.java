package io.ferry.channel;

/**
 * QEMU's query-migrate figures for one job, as the source measures them. Times in ms, sizes in
 * bytes, {@code mbps} in decimal megabits per second. Null where not known yet;
 * {@code dataPlane} is null until the source's main connection is open.
 */
public record MigrationProgress(
        long setupTimeMs,
        long totalTimeMs,
        Long expectedDowntimeMs,
        Long downtimeMs,
        Ram ram,
        Disk disk,
        Postcopy postcopy,
        Verification verification,
        DataPlane dataPlane,
        Convergence convergence) {

    /** Figures with no word on the data plane or convergence (the destination's reports). */
    public MigrationProgress(long setupTimeMs, long totalTimeMs, Long expectedDowntimeMs, Long downtimeMs, Ram ram,
                             Disk disk, Postcopy postcopy, Verification verification) {
        this(setupTimeMs, totalTimeMs, expectedDowntimeMs, downtimeMs, ram, disk, postcopy, verification, null, null);
    }

    /**
     * What the convergence tools did (each null when the job does not use it): the source's
     * figures.
     */
    public record Convergence(Throttle throttle, Xbzrle xbzrle, Compression compression) {

        /** The figures, or null when the job uses none of the tools. */
        public static Convergence of(Throttle throttle, Xbzrle xbzrle, Compression compression) {
            return throttle == null && xbzrle == null && compression == null ? null
                    : new Convergence(throttle, xbzrle, compression);
        }
    }

    /**
     * Auto-converge: the guest's CPU throttle now ({@code percent}, 0 when not throttled; QEMU's
     * cpu-throttle-percentage), how often the rule raised it, and how long the guest has run
     * throttled in all.
     */
    public record Throttle(int percent, long raises, long throttledMs) {
    }

    /**
     * QEMU's xbzrle-cache figures: the cache's size, encoded bytes and pages sent, re-sent pages not
     * found in the cache ({@code cacheMiss}, and its share of lookups over the last round,
     * {@code cacheMissRate}), pages whose encoding would not pay and went plain ({@code overflow}),
     * the bytes saved against sending the encoded pages plain, and {@code encodingRate}: page bytes
     * per encoded byte over the last round.
     */
    public record Xbzrle(long cacheSize, long bytes, long pages, long cacheMiss, double cacheMissRate,
                         double encodingRate, long overflow, long bytesSaved) {
    }

    /**
     * Multifd compression: the method, pages compressed, their bytes before and after
     * ({@code ratio} = before / after; zero pages are never compressed and not counted).
     */
    public record Compression(String method, long pages, long bytesIn, long bytesOut, double ratio) {
    }

    /**
     * How the job's migration stream crosses the network: {@code tls} false for plain TCP (then
     * the rest is null), else the negotiated protocol and cipher suite and the TLS implementation
     * ({@code openssl} or {@code jdk}), as the source's main connection settled them.
     */
    public record DataPlane(boolean tls, String protocol, String cipher, String provider) {
        public static final DataPlane PLAIN = new DataPlane(false, null, null, null);
    }

    /**
     * Post-copy only: page requests served, and bytes sent before the guest was paused, while it
     * was paused (the switch), and after the destination started running it (the source's
     * figures); {@code faultLatency} is the destination's; {@code recoveries} counts reconnections
     * after a broken link.
     */
    public record Postcopy(long requests, long bytesBeforePause, long bytesDuringPause, long bytesAfterPause,
                           long recoveries, FaultLatency faultLatency) {
    }

    /**
     * The destination's page faults: how long guest accesses waited for a missing page to
     * arrive, in milliseconds (null while there were none).
     */
    public record FaultLatency(long faults, Double p50Ms, Double p99Ms, Double maxMs) {

        /** From latencies in nanoseconds, sorted ascending. */
        public static FaultLatency of(long[] sortedNanos) {
            int n = sortedNanos.length;
            if (n == 0) {
                return new FaultLatency(0, null, null, null);
            }
            return new FaultLatency(n, ms(sortedNanos[percentileIndex(n, 50)]),
                    ms(sortedNanos[percentileIndex(n, 99)]), ms(sortedNanos[n - 1]));
        }

        /** Nearest-rank percentile. */
        private static int percentileIndex(int n, int percent) {
            return Math.max(0, (int) Math.ceil(percent / 100.0 * n) - 1);
        }

        private static double ms(long nanos) {
            return Math.round(nanos / 1e3) / 1e3;
        }
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
