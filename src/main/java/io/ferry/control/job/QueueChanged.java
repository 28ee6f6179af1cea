package io.ferry.control.job;

import java.util.UUID;

/**
 * Published when a job joins the queue or gives its admission slots back (it ended), so
 * admission looks again at once instead of at its next pass. Delivered after the transaction
 * that caused it commits.
 */
public record QueueChanged(UUID jobId) {
}
