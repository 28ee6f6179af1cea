package io.ferry.control.job;

import io.ferry.channel.StorageMode;
/**
 * What a caller asked for, field by field; null means "not asked": the matching policy's value
 * applies, else the default (QEMU's where QEMU has one). Request parameters override policies.
 */
public record RequestedParameters(Long maxBandwidth, Long downtimeLimitMs, StorageMode storage,
                                  Boolean verifyChecksums, Boolean postcopy, RequestedConvergence convergence,
                                  Integer channels, Integer postcopyAfterIterations,
                                  Boolean postcopyWhenNotConverging, Long maxPostcopyBandwidth,
                                  JobPriority priority) {

    /** The longest downtime limit a request (create or tune, API or console) may ask for: one hour. */
    public static final long MAX_DOWNTIME_LIMIT_MS = 3_600_000;

    public static final RequestedParameters NONE = new RequestedParameters(null, null, null, null, null,
            RequestedConvergence.NONE, null, null, null, null, null);

    public RequestedParameters {
        convergence = convergence == null ? RequestedConvergence.NONE : convergence;
    }

    /** The same request with another priority (a drain asks for maintenance unless told otherwise). */
    public RequestedParameters withDefaultPriority(JobPriority fallback) {
        return priority != null ? this : new RequestedParameters(maxBandwidth, downtimeLimitMs, storage,
                verifyChecksums, postcopy, convergence, channels, postcopyAfterIterations,
                postcopyWhenNotConverging, maxPostcopyBandwidth, fallback);
    }
}
