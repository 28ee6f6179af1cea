package io.ferry.control.job;

import io.ferry.control.guest.GuestState;
import java.util.UUID;

/**
 * Everything a new job is made of, resolved before it is queued: which guest goes where, with
 * which parameters and priority, under which policy; the memory it reserves on its destination
 * and the bytes it moves; the drain that asked for it, if any; the guest's run state (running
 * or paused), which it keeps wherever the job leaves it.
 */
public record JobPlan(UUID guestId, String sourceHostId, String destinationHostId, MigrationParameters parameters,
                      JobPriority priority, JobPolicy policy, long memoryBytes, long transferBytes, UUID drainId,
                      GuestState guestRunState) {
}
