package io.ferry.channel;

import java.util.UUID;

/** A worker's answer to {@code GET /v1/migrations/{jobId}}: what this worker process knows of the job. */
public record MigrationStateReport(UUID jobId, String workerInstance, MigrationKnowledge state) {
}
