package io.ferry.control.api;

import io.ferry.control.job.ConvergenceTuning;
import io.ferry.control.job.RequestedParameters;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;
import java.util.UUID;

/** Request bodies of the migration endpoints. Limits here mirror openapi.yaml. */
final class MigrationRequests {

    private MigrationRequests() {
    }

    record CreateMigration(
            @NotNull UUID guestId,
            @NotBlank @Size(max = 63) String destinationHostId,
            @Valid Parameters parameters) {
    }

    record Parameters(
            @PositiveOrZero Long maxBandwidth,
            @Min(1) @Max(RequestedParameters.MAX_DOWNTIME_LIMIT_MS) Long downtimeLimitMs,
            @Pattern(regexp = "shared|copy", message = "must be 'shared' or 'copy'") String storage,
            Boolean verifyChecksums,
            @Valid Capabilities capabilities,
            @Min(0) @Max(1000) Integer postcopyAfterIterations,
            Boolean postcopyWhenNotConverging,
            @PositiveOrZero Long maxPostcopyBandwidth,
            @Pattern(regexp = "system|user|maintenance", message = "must be 'system', 'user' or 'maintenance'")
            String priority,
            @Valid ConvergenceTuning convergence) {
    }

    record Capabilities(
            Boolean postcopy,
            Boolean autoConverge,
            Boolean xbzrle,
            @Pattern(regexp = "none|zstd|lz4", message = "must be 'none', 'zstd' or 'lz4'") String compression,
            @Min(1) @Max(16) Integer channels) {
    }

    record AbandonMigration(
            @NotNull @Pattern(regexp = "source|destination", message = "must be 'source' or 'destination'") String keep,
            @NotBlank @Size(max = 512) String reason) {
    }

    /** {@code autoConverge}: only true (turn it on for a job in pre-copy); it is not turned off mid-job. */
    record TuneMigration(
            @PositiveOrZero Long maxBandwidth,
            @Min(1) @Max(RequestedParameters.MAX_DOWNTIME_LIMIT_MS) Long downtimeLimitMs,
            @AssertTrue(message = "can only be true: auto-converge is turned on mid-job, never off") Boolean autoConverge) {
    }
}
