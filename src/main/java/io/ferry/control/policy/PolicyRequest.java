package io.ferry.control.policy;

import io.ferry.channel.CompressionMethod;
import io.ferry.control.job.ConvergenceTuning;
import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobPriority;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.channel.StorageMode;
import io.ferry.control.system.InvalidFieldException;
import io.ferry.control.system.Labels;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * A policy as a caller writes it ({@code POST}/{@code PUT /api/v1/policies}, and the console's
 * policy form): the field rules as Bean Validation constraints (mirrored in openapi.yaml's
 * {@code PolicyRequest}), the rules across fields in {@link #settings()}. Both doors validate
 * this record with the same validator and turn it into settings here, so neither keeps a copy.
 */
public record PolicyRequest(
        @Pattern(regexp = PolicyRequest.NAME, message = PolicyRequest.NAME_RULE) String name,
        @Size(max = 1024) String description,
        Map<String, String> guestSelector,
        Map<String, String> hostSelector,
        Map<String, String> destinationSelector,
        @PositiveOrZero Long maxBandwidth,
        @Min(1) @Max(3_600_000) Long downtimeLimitMs,
        @Valid @Size(max = 16) List<@NotNull @Valid RampStep> downtimeRamp,
        @Positive @Max(86_400) Long completionTimeoutPerGiB,
        @Positive @Max(86_400) Long progressTimeout,
        Boolean allowPostcopy,
        @Pattern(regexp = "shared|copy", message = "must be 'shared' or 'copy'") String storage,
        @Pattern(regexp = "system|user|maintenance", message = "must be 'system', 'user' or 'maintenance'")
        String priority,
        @Size(min = 1, max = 4) List<@NotNull @Pattern(regexp = "auto-converge|postcopy|pause|abort",
                message = "must be 'auto-converge', 'postcopy', 'pause' or 'abort'") String> escalation,
        @Positive @Max(3600) Long escalationGrace,
        Boolean verifyChecksums,
        Boolean autoConverge,
        Boolean xbzrle,
        @Pattern(regexp = "none|zstd|lz4", message = "must be 'none', 'zstd' or 'lz4'") String compression,
        @Valid ConvergenceTuning convergence) {

    public static final String NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
    public static final String NAME_RULE = "must be a lower-case DNS label (a-z, 0-9, '-', at most 63)";

    /** One step of a downtime ramp: from this many seconds into the job, this limit. */
    public record RampStep(@NotNull @PositiveOrZero @Max(86_400) Long afterSeconds,
                           @NotNull @Min(1) @Max(3_600_000) Long downtimeLimitMs) {
    }

    /** The settings this request asks for, after the rules that span fields. */
    public PolicySettings settings() {
        List<EscalationStep> ladder = escalation == null ? null
                : escalation.stream().map(EscalationStep::fromApiName).toList();
        if (ladder != null && new HashSet<>(ladder).size() != ladder.size()) {
            throw new InvalidFieldException("escalation", "each step may appear once");
        }
        if (ladder != null && ladder.contains(EscalationStep.POSTCOPY) && Boolean.FALSE.equals(allowPostcopy)) {
            throw new InvalidFieldException("escalation", "'postcopy' needs allowPostcopy (it is false)");
        }
        return new PolicySettings(maxBandwidth, downtimeLimitMs,
                downtimeRamp == null ? null : new DowntimeRamp(downtimeRamp.stream()
                        .map(r -> new DowntimeRamp.Step(r.afterSeconds(), r.downtimeLimitMs())).toList()),
                completionTimeoutPerGiB, progressTimeout, allowPostcopy,
                storage == null ? null : StorageMode.fromApiName(storage),
                priority == null ? null : JobPriority.fromApiName(priority), ladder, escalationGrace,
                destinationSelector == null ? null : labels("destinationSelector", destinationSelector),
                verifyChecksums, new RequestedConvergence(autoConverge, xbzrle,
                        compression == null ? null : CompressionMethod.fromApiName(compression), convergence));
    }

    /** The guests the policy selects (none named: every guest). */
    public Map<String, String> guestLabels() {
        return labels("guestSelector", guestSelector);
    }

    /** The source hosts the policy selects (none named: every host). */
    public Map<String, String> hostLabels() {
        return labels("hostSelector", hostSelector);
    }

    private static Map<String, String> labels(String field, Map<String, String> labels) {
        String problem = Labels.problem(labels);
        if (problem != null) {
            throw new InvalidFieldException(field, problem);
        }
        return labels == null ? Map.of() : labels;
    }
}
