package io.ferry.control.job;

import java.util.UUID;

/** What a job list keeps; null means any. {@code hostId} matches the source or the destination. */
public record JobFilter(JobStatus status, UUID guestId, String hostId) {

    public static final JobFilter ALL = new JobFilter(null, null, null);
}
