package io.ferry.channel;

import java.util.UUID;

/**
 * Worker → control plane: where a migration stands, from the side that knows. {@code phase} is
 * one of {@code active} (setup done, pages flowing), {@code progress} (figures only),
 * {@code verified} (the destination's digests at switchover), {@code postcopy-active} (the
 * destination runs the guest; also sent after a recovery), {@code postcopy-paused} (the link
 * broke during post-copy; both sides keep their state), {@code completed}, {@code failed},
 * {@code cancelled}. {@code guest} is the destination's
 * report of the guest it now runs (completed only).
 */
public record MigrationReport(UUID jobId, String phase, String reason, MigrationProgress progress,
                              GuestReport guest) {

    public static final String ACTIVE = "active";
    public static final String PROGRESS = "progress";
    public static final String VERIFIED = "verified";
    public static final String POSTCOPY_ACTIVE = "postcopy-active";
    public static final String POSTCOPY_PAUSED = "postcopy-paused";
    public static final String COMPLETED = "completed";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";
}
