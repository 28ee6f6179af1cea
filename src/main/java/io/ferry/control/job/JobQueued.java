package io.ferry.control.job;

import java.util.UUID;

/** Published once a new job is stored as queued, so admission can look at it without waiting for its next pass. */
public record JobQueued(UUID jobId) {
}
