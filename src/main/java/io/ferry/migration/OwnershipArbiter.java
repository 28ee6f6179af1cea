package io.ferry.migration;

import io.ferry.channel.HandoffStep;
import io.ferry.channel.OwnershipGrant;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The control plane's compare-and-set on disk ownership, as the engine needs it at hand-off
 * (steps in {@link io.ferry.channel.OwnershipStep}). The engine never writes an image on its own
 * say: it asks, and acts only on a grant.
 */
public interface OwnershipArbiter {

    enum Verdict {
        /** The step was applied (or had been, by this job): act on it. */
        GRANTED,
        /** Another step won, or the job is unknown: do not write. */
        REFUSED,
        /** No answer within the time given: the outcome is unknown. */
        UNREACHABLE
    }

    /**
     * {@code disks} are the records after the step (GRANTED) or as read; empty otherwise.
     * {@code jobStatus} is the job's status as the control plane answered (null if unknown).
     */
    record Answer(Verdict verdict, List<OwnershipGrant.Disk> disks, String detail, String jobStatus) {

        public Answer(Verdict verdict, List<OwnershipGrant.Disk> disks, String detail) {
            this(verdict, disks, detail, null);
        }

        /** The generation the grant left each disk at, by disk id. */
        public Map<String, Long> generations() {
            Map<String, Long> generations = new java.util.LinkedHashMap<>();
            disks.forEach(d -> generations.put(d.diskId().toString(), d.generation()));
            return generations;
        }
    }

    /**
     * Asks for {@code step} on all the job's disks, given the generations they had at job start;
     * retries what cannot have been decided (no connection, a raced write) until {@code within}.
     */
    Answer step(UUID jobId, HandoffStep step, Map<String, Long> base, Duration within) throws InterruptedException;

    /** The job's disk records as they are, or UNREACHABLE after {@code within}. */
    Answer read(UUID jobId, Duration within) throws InterruptedException;
}
