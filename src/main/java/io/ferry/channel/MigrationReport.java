package io.ferry.channel;

import java.util.UUID;

/**
 * Worker → control plane: where a migration stands, from the side that knows (see
 * {@link MigrationPhase}). {@code guest} is the destination's report of the guest it now runs
 * (completed only).
 */
public record MigrationReport(UUID jobId, MigrationPhase phase, String reason, MigrationProgress progress,
                              GuestReport guest) {
}
