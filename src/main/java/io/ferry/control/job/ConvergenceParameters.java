package io.ferry.control.job;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/** A job's resolved convergence tools, as stored (see {@link ConvergenceSettings}). */
@Embeddable
public class ConvergenceParameters {

    @Column(name = "auto_converge", nullable = false)
    private boolean autoConverge;

    @Column(name = "cpu_throttle_initial", nullable = false)
    private int cpuThrottleInitial;

    @Column(name = "cpu_throttle_increment", nullable = false)
    private int cpuThrottleIncrement;

    @Column(name = "max_cpu_throttle", nullable = false)
    private int maxCpuThrottle;

    @Column(name = "cpu_throttle_tailslow", nullable = false)
    private boolean cpuThrottleTailslow;

    @Column(nullable = false)
    private boolean xbzrle;

    @Column(name = "xbzrle_cache_size", nullable = false)
    private long xbzrleCacheSize;

    /** none, zstd or lz4. */
    @Column(nullable = false)
    private String compression;

    @Column(name = "compression_level", nullable = false)
    private int compressionLevel;

    protected ConvergenceParameters() {
    }

    ConvergenceParameters(ConvergenceSettings s) {
        autoConverge = s.autoConverge().enabled();
        cpuThrottleInitial = s.autoConverge().initialPercent();
        cpuThrottleIncrement = s.autoConverge().incrementPercent();
        maxCpuThrottle = s.autoConverge().maxPercent();
        cpuThrottleTailslow = s.autoConverge().tailSlow();
        xbzrle = s.xbzrle().enabled();
        xbzrleCacheSize = s.xbzrle().cacheSizeBytes();
        compression = s.compression().method().apiName();
        compressionLevel = s.compression().level();
    }

    public ConvergenceSettings settings() {
        CompressionMethod method = CompressionMethod.fromApiName(compression);
        return new ConvergenceSettings(
                new ConvergenceSettings.AutoConverge(autoConverge, cpuThrottleInitial, cpuThrottleIncrement,
                        maxCpuThrottle, cpuThrottleTailslow),
                new ConvergenceSettings.Xbzrle(xbzrle, xbzrleCacheSize),
                method == CompressionMethod.NONE ? ConvergenceSettings.Compression.NONE
                        : new ConvergenceSettings.Compression(method, compressionLevel));
    }

    /** An escalation (or an operator) turns auto-converge on for a running job. */
    void enableAutoConverge() {
        autoConverge = true;
    }
}
