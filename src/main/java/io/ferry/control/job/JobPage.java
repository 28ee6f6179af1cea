package io.ferry.control.job;

import java.util.List;

/**
 * One page of a job list, newest first. {@code next} is where the following page starts (null
 * on the last page); {@code totalItems} is counted only for a list asked for by page number
 * (null when it was asked for with a cursor: counting costs what the cursor saves).
 */
public record JobPage(List<MigrationJob> items, JobCursor next, Long totalItems) {
}
