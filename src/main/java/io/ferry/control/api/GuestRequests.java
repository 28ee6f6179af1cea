package io.ferry.control.api;

import io.ferry.channel.DirtyRateCommand;
import io.ferry.channel.DirtyRateMode;
import io.ferry.control.guest.GuestLayout;
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

    // the limits are the guest package's (GuestLayout), which checks them again for every caller
    static final long MIN_MEMORY = GuestLayout.MIN_MEMORY;
    static final long MAX_MEMORY = GuestLayout.MAX_MEMORY;

    private GuestRequests() {
    }

    record CreateGuest(
            @NotBlank @Size(max = 255) String name,
            @NotBlank @Size(max = 63) String hostId,
            @Min(MIN_MEMORY) @Max(MAX_MEMORY) Long memoryBytes,
            @Valid @Size(min = 1, max = 16) List<@NotNull @Valid RamBlockBody> ramBlocks,
            @Valid @Size(max = 16) List<@NotNull @Valid DiskBody> disks,
            @Min(1) @Max(1 << 20) Integer deviceStateBytes,
            @Valid WorkloadBody workload,
            Map<String, String> labels,
            @Pattern(regexp = "synthetic|qemu", message = "must be 'synthetic' or 'qemu'") String runtime,
            @Size(min = 1, max = 1024) String restoreFrom) {

        io.ferry.channel.GuestRuntime guestRuntime() {
            return runtime == null ? io.ferry.channel.GuestRuntime.SYNTHETIC
                    : io.ferry.channel.GuestRuntime.fromApiName(runtime);
        }
    }

    record RamBlockBody(
            @NotBlank @Size(max = 255) @Pattern(regexp = "[\\x21-\\x7e]+", message = "must be printable ASCII without spaces")
            String name,
            @NotNull @Min(4096) Long sizeBytes) {
    }

    record DiskBody(
            @NotBlank @Size(max = 255) String name,
            @NotNull @Min(GuestLayout.PAGE) @Max(GuestLayout.MAX_DISK) Long sizeBytes) {
    }

    record WorkloadBody(
            @PositiveOrZero @Max(GuestLayout.MAX_DIRTY_PAGES_PER_SECOND) Long dirtyPagesPerSecond,
            @DecimalMin(value = "0.0", inclusive = false) @DecimalMax("1.0") Double hotSetFraction,
            @PositiveOrZero @Max(GuestLayout.MAX_DISK_WRITES_PER_SECOND) Long diskWritesPerSecond,
            Long seed) {
    }

    /** A dirty-rate measurement; every field may be left out for its default (1000 ms, page-sampling, 512). */
    record MeasureDirtyRate(
            @Min(DirtyRateCommand.MIN_WINDOW_MS) @Max(DirtyRateCommand.MAX_WINDOW_MS) Long windowMs,
            @Pattern(regexp = "page-sampling|dirty-bitmap", message = "must be 'page-sampling' or 'dirty-bitmap'")
            String mode,
            @Min(1) @Max(DirtyRateCommand.MAX_SAMPLE_PAGES_PER_GIB) Integer samplePagesPerGiB) {

        DirtyRateCommand command() {
            return new DirtyRateCommand(windowMs, mode == null ? null : DirtyRateMode.fromApiName(mode),
                    samplePagesPerGiB);
        }
    }
}
