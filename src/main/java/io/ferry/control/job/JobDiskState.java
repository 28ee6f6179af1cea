package io.ferry.control.job;

import java.util.UUID;

/**
 * One disk of a job's guest as the job sees it: the ownership record now, and what each side
 * holds — {@code active} (may write), {@code inactive} (image open, fenced) or {@code absent}.
 * For a finished job the sides are as the job left them.
 */
public record JobDiskState(UUID diskId, String name, String ownerHostId, String ownershipState, long generation,
                           String sourceSide, String destinationSide) {

    public static final String ACTIVE = "active";
    public static final String INACTIVE = "inactive";
    public static final String ABSENT = "absent";
}
