package io.ferry.migration.outgoing;

import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.Workload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nova's {@code live_migration_force_complete} on the source (the {@code pause} step of an
 * escalation ladder): the guest's workload is held still so it stops dirtying memory and disks,
 * and the pre-copy converges on its own at the next rounds.
 *
 * <p>The guest's <em>state</em> is left alone: it stays MIGRATING_OUT, so no pause or resume
 * command can touch it, and the run state it had when the migration started stays what the
 * stream's {@code ferry/runstate} carries and what a failure restores. Only the workload stops.
 * The hold ends when the migration ends here: after the guest is restored (it then runs again,
 * as before), or with the guest handed over or kept paused.
 *
 * <pre>
 *   LIVE ──force()──▶ FORCED ──end()──▶ ENDED
 *     └──────────────end()─────────────────┘      force() after ENDED: refused
 * </pre>
 */
final class ForcedCompletion {

    private static final Logger log = LoggerFactory.getLogger(ForcedCompletion.class);

    enum Phase { LIVE, FORCED, ENDED }

    private Phase phase = Phase.LIVE;   // guarded by this
    private Workload.Hold hold;         // guarded by this; non-null only while FORCED
    private long forcedAtNanos;         // guarded by this

    /**
     * Holds the guest's workload still (returns once no write is in flight). True if it is held
     * now (again true when already forced); false once the migration has ended here.
     */
    synchronized boolean force(SyntheticGuest guest) {
        switch (phase) {
            case FORCED -> {
                return true;
            }
            case ENDED -> {
                return false;
            }
            case LIVE -> {
                hold = guest.holdWorkload();
                forcedAtNanos = System.nanoTime();
                phase = Phase.FORCED;
                log.info("forced to complete: the guest's workload is held still until the migration ends here");
                return true;
            }
        }
        throw new AssertionError(phase);
    }

    /** The migration is over here: the workload goes on as the guest's state says. Idempotent. */
    synchronized void end() {
        if (hold != null) {
            hold.close();
            hold = null;
        }
        phase = Phase.ENDED;
    }

    /** For the final report: empty unless forced. */
    synchronized String describe() {
        return phase != Phase.FORCED ? "" : "; forced to complete: the guest's workload was held still for its last "
                + (System.nanoTime() - forcedAtNanos) / 1_000_000 + " ms on the source";
    }
}
