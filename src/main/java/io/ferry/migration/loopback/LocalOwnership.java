package io.ferry.migration.loopback;

import io.ferry.migration.OwnershipArbiter;
import io.ferry.channel.OwnershipState;
import io.ferry.channel.HandoffStep;
import io.ferry.channel.OwnershipGrant;
import io.ferry.channel.OwnershipStep;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The hand-off's compare-and-set kept in memory, for a migration between two guests of one
 * process ({@link LoopbackMigration}: the benchmark and engine tests), where there is no control
 * plane. Same steps and rules as the control plane's, one job, two hosts: {@link #SOURCE} and
 * {@link #DESTINATION}. {@link #unreachable} plays a control plane that does not answer.
 */
public final class LocalOwnership implements OwnershipArbiter {

    public static final String SOURCE = "loopback-source";
    public static final String DESTINATION = "loopback-destination";

    private final Map<String, OwnershipGrant.Disk> disks = new LinkedHashMap<>();
    private volatile boolean unreachable;

    /** Every disk ACTIVE on the source at generation 1, as a new guest's are. */
    public LocalOwnership(List<String> diskIds) {
        diskIds.forEach(id -> disks.put(id, new OwnershipGrant.Disk(UUID.fromString(id), SOURCE, OwnershipState.ACTIVE, 1)));
    }

    public void unreachable(boolean unreachable) {
        this.unreachable = unreachable;
    }

    private volatile HandoffStep unansweredStep;
    private volatile long unansweredUntilNanos;

    /** Plays a control plane that gives no answer to {@code step} for the next {@code millis}. */
    public void unanswered(HandoffStep step, long millis) {
        unansweredUntilNanos = System.nanoTime() + millis * 1_000_000;
        unansweredStep = step;
    }

    /** The generations the job starts from. */
    public synchronized Map<String, Long> generations() {
        Map<String, Long> generations = new LinkedHashMap<>();
        disks.forEach((id, d) -> generations.put(id, d.generation()));
        return generations;
    }

    public synchronized List<OwnershipGrant.Disk> records() {
        return List.copyOf(disks.values());
    }

    @Override
    public Answer step(UUID jobId, HandoffStep step, Map<String, Long> base, Duration within) throws InterruptedException {
        if (unreachable || (step.equals(unansweredStep) && System.nanoTime() < unansweredUntilNanos)) {
            Thread.sleep(Math.min(within.toMillis(), 500));   // a short "timeout" keeps tests quick
            return new Answer(Verdict.UNREACHABLE, List.of(), "control plane unreachable (loopback)");
        }
        return apply(step, base);
    }

    private synchronized Answer apply(HandoffStep step, Map<String, Long> base) {
        List<OwnershipGrant.Disk> next = new ArrayList<>();
        for (Map.Entry<String, Long> entry : base.entrySet()) {
            OwnershipGrant.Disk d = disks.get(entry.getKey());
            long g = entry.getValue();
            OwnershipGrant.Disk moved = switch (step) {
                case HANDOFF -> is(d, OwnershipState.ACTIVE, SOURCE, g) ? with(d, SOURCE, OwnershipState.HANDOFF) : null;
                case ACTIVATE, ACTIVATE_POSTCOPY -> d != null && d.state() == OwnershipState.HANDOFF && d.generation() == g + 1
                        ? with(d, DESTINATION, OwnershipState.ACTIVE) : null;
                case REACTIVATE -> is(d, OwnershipState.HANDOFF, SOURCE, g + 1) || is(d, OwnershipState.ACTIVE, SOURCE, g)
                        ? with(d, SOURCE, OwnershipState.ACTIVE) : null;
            };
            if (moved == null) {
                return new Answer(Verdict.REFUSED, List.of(), step.wireName() + " refused: disk is " + d);
            }
            next.add(moved);
        }
        next.forEach(d -> disks.put(d.diskId().toString(), d));
        return new Answer(Verdict.GRANTED, next, null);
    }

    /**
     * Plays the control plane abandoning a paused post-copy: every disk moves to ACTIVE on
     * {@code host} at the next generation, whatever its state. Returns the generations granted.
     */
    public synchronized Map<String, Long> keep(String host) {
        disks.replaceAll((id, d) -> new OwnershipGrant.Disk(d.diskId(), host, OwnershipState.ACTIVE, d.generation() + 1));
        return generations();
    }

    @Override
    public synchronized Answer read(UUID jobId, Duration within) {
        return new Answer(Verdict.GRANTED, records(), null);
    }

    private static boolean is(OwnershipGrant.Disk d, OwnershipState state, String owner, long generation) {
        return d != null && d.state() == state && d.ownerHostId().equals(owner) && d.generation() == generation;
    }

    private static OwnershipGrant.Disk with(OwnershipGrant.Disk d, String owner, OwnershipState state) {
        return new OwnershipGrant.Disk(d.diskId(), owner, state, d.generation() + 1);
    }
}
