package io.ferry.worker;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The highest lease epoch of each job's driver this worker has heard from. A job command
 * carrying an older epoch comes from a control-plane replica whose lease was taken over (a
 * stalled one waking up): it is refused, so it has no effect. Commands without an epoch (a
 * user's command through a replica that does not drive the job) pass.
 */
final class DriverFence {

    private final Map<UUID, Long> highest = new ConcurrentHashMap<>();

    /** @throws IllegalStateException when {@code epoch} is older than one already seen for the job */
    void admit(UUID jobId, long epoch) {
        if (epoch <= 0) {
            return;
        }
        long now = highest.merge(jobId, epoch, Math::max);
        if (now > epoch) {
            throw new IllegalStateException("job " + jobId + " is driven by a newer control-plane lease (epoch " + now
                    + "); a command of epoch " + epoch + " comes from a replica that no longer drives it");
        }
    }
}
