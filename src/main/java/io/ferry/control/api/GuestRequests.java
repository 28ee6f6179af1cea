package io.ferry.control.api;

import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;
import java.util.List;
import java.util.Map;

/** Request bodies of the guest endpoints. Limits here mirror openapi.yaml. */
final class GuestRequests {

    static final long MIN_MEMORY = 16L << 20;
    static final long MAX_MEMORY = 64L << 30;

    private GuestRequests() {
    }

    record CreateGuest(
            @NotBlank @Size(max = 255) String name,
            @NotBlank @Size(max = 63) String hostId,
            @NotNull @Min(MIN_MEMORY) @Max(MAX_MEMORY) Long memoryBytes,
            @Valid @Size(min = 1, max = 16) List<@NotNull @Valid RamBlockBody> ramBlocks,
            @Valid @Size(max = 16) List<@NotNull @Valid DiskBody> disks,
            @Min(1) @Max(1 << 20) Integer deviceStateBytes,
            @Valid WorkloadBody workload,
            Map<String, String> labels) {
    }

    record RamBlockBody(
            @NotBlank @Size(max = 255) @Pattern(regexp = "[\\x21-\\x7e]+", message = "must be printable ASCII without spaces")
            String name,
            @NotNull @Min(4096) Long sizeBytes) {
    }

    record DiskBody(
            @NotBlank @Size(max = 255) String name,
            @NotNull @Min(4096) @Max(1L << 40) Long sizeBytes) {
    }

    record WorkloadBody(
            @PositiveOrZero @Max(10_000_000) Long dirtyPagesPerSecond,
            @DecimalMin(value = "0.0", inclusive = false) @DecimalMax("1.0") Double hotSetFraction,
            @PositiveOrZero @Max(1_000_000) Long diskWritesPerSecond,
            Long seed) {
    }
}
