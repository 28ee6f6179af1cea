package io.ferry.migration.outgoing;

import io.ferry.channel.ConvergenceSettings;

/**
 * QEMU's auto-converge rule ({@code migration/ram.c}: {@code migration_trigger_throttle} and
 * {@code mig_throttle_guest_down}, QEMU 8+), as a decision with no clock or guest of its own, fed
 * at every dirty sync.
 *
 * <p>When: time is cut into periods of at least a second (a sync less than a second after the
 * period began adds its dirtied bytes to the period and decides nothing). A period is high when
 * the guest's RAM dirtied more than {@value #TRIGGER_THRESHOLD_PERCENT} % of the bytes the
 * migration sent in it (QEMU's throttle-trigger-threshold): the link barely outruns the guest, so
 * the round after leaves about as much as this one did. The second high period fires the rule and
 * the count starts over; a period that is not high neither counts nor resets the count (QEMU's
 * {@code ++dirty_rate_high_cnt >= 2}). The bulk round is never judged: it sends every page once,
 * dirty or not (and the disks' bulk with it, where QEMU skips {@code blk_mig_bulk_active}), so the
 * first period starts at its sync. The rule counts with auto-converge off too, as QEMU's does, so
 * a job that turns it on later acts on what it has seen.
 *
 * <p>How much: see {@link #raise}.
 *
 * <p>Used by the migration thread only.
 */
final class ThrottleRule {

    /** QEMU's throttle-trigger-threshold default: dirtied over sent, in percent. */
    static final int TRIGGER_THRESHOLD_PERCENT = 50;
    /** QEMU judges a period only once it is over a second long. */
    static final long PERIOD_NANOS = 1_000_000_000L;
    /** High periods that fire the rule. */
    static final int HIGH_PERIODS_TO_FIRE = 2;

    /** What the period that fired the rule measured: what {@link #raise} goes by. */
    record Fired(long dirtiedBytes, long sentBytes, long thresholdBytes, long periodMs) {
    }

    /** The period under way; null until the bulk round's sync opens the first. */
    private Period period;
    private int highPeriods;

    private static final class Period {
        final long startNanos;
        final long transferredAtStart;
        long dirtiedBytes;

        Period(long startNanos, long transferredAtStart) {
            this.startNanos = startNanos;
            this.transferredAtStart = transferredAtStart;
        }
    }

    /** The bulk round's sync: the first period starts here, with nothing dirtied yet. */
    void bulkRoundSynced(long nowNanos, long transferredBytes) {
        period = new Period(nowNanos, transferredBytes);
    }

    /**
     * A later round's sync: {@code dirtiedBytes}, what the guest's RAM dirtied since the sync
     * before; {@code transferredBytes}, all the migration sent so far. Returns the period's figures
     * when the rule fires, else null.
     */
    Fired roundSynced(long nowNanos, long dirtiedBytes, long transferredBytes) {
        if (period == null) {
            throw new IllegalStateException("a round synced before the bulk round's sync");
        }
        period.dirtiedBytes += dirtiedBytes;
        long elapsed = nowNanos - period.startNanos;
        if (elapsed <= PERIOD_NANOS) {
            return null;
        }
        long sent = transferredBytes - period.transferredAtStart;
        long threshold = sent * TRIGGER_THRESHOLD_PERCENT / 100;
        long dirtied = period.dirtiedBytes;
        period = new Period(nowNanos, transferredBytes);
        if (dirtied > threshold && ++highPeriods >= HIGH_PERIODS_TO_FIRE) {
            highPeriods = 0;
            return new Fired(dirtied, sent, threshold, elapsed / 1_000_000);
        }
        return null;
    }

    /**
     * QEMU's {@code mig_throttle_guest_down}: the throttle after the rule fired at {@code
     * currentPercent}. Not throttled yet: {@code initialPercent}. Else {@code incrementPercent}
     * more, at most {@code maxPercent}; with tail-slow, the increment is at most what would bring
     * the dirtying down to the threshold, assuming it falls with the CPU share the guest runs:
     * {@code cpuNow = 100 − current}, {@code cpuIdeal = ⌊cpuNow × threshold / dirtied⌋}, increment
     * {@code min(cpuNow − cpuIdeal, incrementPercent)} — so it does not overshoot near convergence.
     */
    static int raise(int currentPercent, ConvergenceSettings.AutoConverge parameters, long dirtiedBytes,
                     long thresholdBytes) {
        if (currentPercent == 0) {
            return parameters.initialPercent();
        }
        long increment = parameters.incrementPercent();
        if (parameters.tailSlow()) {
            long cpuNow = 100 - currentPercent;
            long cpuIdeal = (long) (cpuNow * ((double) thresholdBytes / dirtiedBytes));
            increment = Math.min(cpuNow - cpuIdeal, increment);
        }
        return (int) Math.min(currentPercent + increment, parameters.maxPercent());
    }
}
