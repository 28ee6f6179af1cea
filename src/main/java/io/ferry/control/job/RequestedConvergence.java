package io.ferry.control.job;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.ConvergenceSettings.AutoConverge;
import io.ferry.channel.ConvergenceSettings.Compression;
import io.ferry.channel.ConvergenceSettings.Xbzrle;

/**
 * The convergence tools a request or a policy asks for (null: not asked): the capabilities
 * auto-converge, XBZRLE and compression (its method; {@code NONE} is off), and their parameters.
 */
public record RequestedConvergence(Boolean autoConverge, Boolean xbzrle, CompressionMethod compression,
                                   ConvergenceTuning tuning) {

    public static final RequestedConvergence NONE = new RequestedConvergence(null, null, null, ConvergenceTuning.NONE);

    public RequestedConvergence {
        tuning = tuning == null ? ConvergenceTuning.NONE : tuning;
    }

    /**
     * The request's values over the policy's over QEMU's defaults.
     *
     * @throws InvalidParametersException when the resolved values contradict each other (an
     *                                    initial throttle above the maximum, a level the method lacks)
     */
    public static ConvergenceSettings resolve(RequestedConvergence request, RequestedConvergence policy) {
        ConvergenceTuning r = request.tuning();
        ConvergenceTuning p = policy.tuning();
        CompressionMethod method = first(request.compression(), policy.compression(), CompressionMethod.NONE);
        try {
            return new ConvergenceSettings(
                    new AutoConverge(first(request.autoConverge(), policy.autoConverge(), false),
                            first(r.cpuThrottleInitial(), p.cpuThrottleInitial(), AutoConverge.DEFAULT_INITIAL),
                            first(r.cpuThrottleIncrement(), p.cpuThrottleIncrement(), AutoConverge.DEFAULT_INCREMENT),
                            first(r.maxCpuThrottle(), p.maxCpuThrottle(), AutoConverge.DEFAULT_MAX),
                            first(r.cpuThrottleTailslow(), p.cpuThrottleTailslow(), false)),
                    new Xbzrle(first(request.xbzrle(), policy.xbzrle(), false),
                            first(r.xbzrleCacheSize(), p.xbzrleCacheSize(), Xbzrle.DEFAULT_CACHE_SIZE)),
                    method == CompressionMethod.NONE ? Compression.NONE : new Compression(method,
                            first(r.compressionLevel(), p.compressionLevel(), method.defaultLevel())));
        } catch (IllegalArgumentException contradiction) {
            throw new InvalidParametersException("parameters.convergence: " + contradiction.getMessage());
        }
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        throw new IllegalStateException("no default");
    }
}
