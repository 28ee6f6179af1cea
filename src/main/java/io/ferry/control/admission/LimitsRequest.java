package io.ferry.control.admission;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/**
 * Admission limits as a caller sets them ({@code PUT /api/v1/admission/limits}, and the console's
 * limits form): both doors validate this record with the same validator (openapi.yaml's
 * {@code AdmissionLimitsRequest} mirrors it). An absent value goes back to the configuration's.
 */
public record LimitsRequest(@Min(0) @Max(MAX) Integer maxJobs, @Min(0) @Max(MAX) Integer maxOutboundPerHost,
                            @Min(0) @Max(MAX) Integer maxInboundPerHost) {

    /** No limit may be set above this (0 stops admission). */
    public static final int MAX = 1000;

    /** One host's limits ({@code PUT /api/v1/hosts/{id}/limits}); absent goes back to the cluster's per-host value. */
    public record ForHost(@Min(0) @Max(MAX) Integer maxOutbound, @Min(0) @Max(MAX) Integer maxInbound) {
    }
}
