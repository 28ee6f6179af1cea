package io.ferry.control.job;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * The convergence tools' parameters as a caller writes them, in a migration's
 * {@code parameters.convergence} and in a policy's {@code convergence}: null leaves a value to the
 * policy, then QEMU's default. Bounds mirror openapi.yaml's {@code ConvergenceTuning}.
 *
 * @param cpuThrottleInitial QEMU's cpu-throttle-initial (%), default 20
 * @param cpuThrottleIncrement QEMU's cpu-throttle-increment (%), default 10
 * @param maxCpuThrottle QEMU's max-cpu-throttle (%), default 99
 * @param cpuThrottleTailslow QEMU's cpu-throttle-tailslow, default false
 * @param xbzrleCacheSize QEMU's xbzrle-cache-size (bytes), default 64 MiB
 * @param compressionLevel the compression method's level (zstd 1..19, lz4 1..17), default 1
 */
public record ConvergenceTuning(
        @Min(1) @Max(99) Integer cpuThrottleInitial,
        @Min(1) @Max(99) Integer cpuThrottleIncrement,
        @Min(1) @Max(99) Integer maxCpuThrottle,
        Boolean cpuThrottleTailslow,
        @Min(4096) @Max(MAX_XBZRLE_CACHE_SIZE) Long xbzrleCacheSize,
        @Min(1) @Max(19) Integer compressionLevel) {

    /** 16 GiB: the cache copies guest pages, it is never worth more than the guest. */
    public static final long MAX_XBZRLE_CACHE_SIZE = 16L << 30;

    public static final ConvergenceTuning NONE = new ConvergenceTuning(null, null, null, null, null, null);
}
