package io.ferry.channel;

import java.util.Objects;

/**
 * The tools that help a busy guest's pre-copy converge, as the control plane resolved them and
 * the source's engine runs them: QEMU's auto-converge (throttle the guest's CPU), XBZRLE (send a
 * re-dirtied page as its difference from the copy sent before) and multifd compression.
 */
public record ConvergenceSettings(AutoConverge autoConverge, Xbzrle xbzrle, Compression compression) {

    public static final ConvergenceSettings NONE = new ConvergenceSettings(AutoConverge.OFF, Xbzrle.OFF,
            Compression.NONE);

    public ConvergenceSettings {
        Objects.requireNonNull(autoConverge, "autoConverge");
        Objects.requireNonNull(xbzrle, "xbzrle");
        Objects.requireNonNull(compression, "compression");
    }

    public ConvergenceSettings withAutoConverge(AutoConverge value) {
        return new ConvergenceSettings(value, xbzrle, compression);
    }

    /**
     * QEMU's auto-converge: once the guest dirties faster than the link carries (see the engine),
     * its CPU is throttled to {@code initialPercent}, then {@code incrementPercent} more each time
     * the rule fires again, at most {@code maxPercent} (QEMU's cpu-throttle-initial 20,
     * cpu-throttle-increment 10, max-cpu-throttle 99); {@code tailSlow} (cpu-throttle-tailslow)
     * raises it by what the last round's dirty-to-sent ratio calls for instead, capped by the
     * increment, so it does not overshoot near convergence.
     */
    public record AutoConverge(boolean enabled, int initialPercent, int incrementPercent, int maxPercent,
                               boolean tailSlow) {

        public static final int DEFAULT_INITIAL = 20;
        public static final int DEFAULT_INCREMENT = 10;
        public static final int DEFAULT_MAX = 99;
        public static final AutoConverge OFF = new AutoConverge(false, DEFAULT_INITIAL, DEFAULT_INCREMENT,
                DEFAULT_MAX, false);
        public static final AutoConverge ON = new AutoConverge(true, DEFAULT_INITIAL, DEFAULT_INCREMENT, DEFAULT_MAX,
                false);

        public AutoConverge {
            if (initialPercent < 1 || initialPercent > 99 || incrementPercent < 1 || incrementPercent > 99
                    || maxPercent < 1 || maxPercent > 99) {
                throw new IllegalArgumentException("throttle percentages must be 1..99, were " + initialPercent
                        + ", " + incrementPercent + ", " + maxPercent);
            }
            if (initialPercent > maxPercent) {
                throw new IllegalArgumentException("the initial throttle " + initialPercent
                        + " % is above the maximum " + maxPercent + " %");
            }
        }
    }

    /**
     * QEMU's XBZRLE: pages sent before are kept in a cache of {@code cacheSizeBytes} (QEMU's
     * xbzrle-cache-size, default 64 MiB), and a page sent again goes as its XOR-difference from the
     * cached copy, zero-run-length encoded, when that pays.
     */
    public record Xbzrle(boolean enabled, long cacheSizeBytes) {

        public static final long DEFAULT_CACHE_SIZE = 64L * 1024 * 1024;
        /** At least one page; the API bounds it further. */
        public static final long MIN_CACHE_SIZE = 4096;
        public static final Xbzrle OFF = new Xbzrle(false, DEFAULT_CACHE_SIZE);

        public Xbzrle {
            if (cacheSizeBytes < MIN_CACHE_SIZE) {
                throw new IllegalArgumentException("the XBZRLE cache must hold at least one page, was "
                        + cacheSizeBytes + " bytes");
            }
        }
    }

    /** Each multifd packet's non-zero pages compressed with {@code method} at {@code level}. */
    public record Compression(CompressionMethod method, int level) {

        public static final Compression NONE = new Compression(CompressionMethod.NONE, 0);

        public Compression {
            Objects.requireNonNull(method, "method");
            if (method != CompressionMethod.NONE && (level < method.minLevel() || level > method.maxLevel())) {
                throw new IllegalArgumentException(method.apiName() + " levels are " + method.minLevel() + ".."
                        + method.maxLevel() + ", was " + level);
            }
        }

        public boolean enabled() {
            return method != CompressionMethod.NONE;
        }
    }
}
