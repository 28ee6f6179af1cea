package io.ferry.migration.outgoing;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationProgress;
import io.ferry.guest.SyntheticGuest;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Auto-converge on the source: {@link ThrottleRule} is fed at every dirty sync and, while the
 * capability is on, each time it fires the guest's vCPU is throttled harder ({@link
 * SyntheticGuest#throttle}), so its writes slow down until pre-copy converges. The throttle goes
 * the moment the guest stops here (the switchover's pause, the switch to post-copy) and on any
 * other end of the job: {@link #end} is called at each, and at the end of the migration thread
 * whatever happened.
 *
 * <p>The rule runs on the migration thread; the operator's switch ({@link #enable}, {@link
 * #disable}) and progress snapshots come from others: this object's lock guards the state and the
 * figures.
 */
final class AutoConvergence {

    private static final Logger log = LoggerFactory.getLogger(AutoConvergence.class);

    /** OFF ⇄ ON while pre-copy runs; ENDED for good once the guest stopped here or the job ended. */
    enum State { OFF, ON, ENDED }

    private final SyntheticGuest guest;
    private final ConvergenceSettings.AutoConverge parameters;
    /** Migration thread only. */
    private final ThrottleRule rule = new ThrottleRule();
    /** The monotonic clock the periods and the time throttled are read from. */
    private final LongSupplier nanoClock;

    private State state;
    /** Whether progress reports a throttle at all: auto-converge was on at some point of the job. */
    private boolean reported;
    private int percent;
    private long raises;
    /** Time throttled before the current stretch. */
    private long throttledNanos;
    /** When the current stretch began; meaningful while {@code percent > 0}. */
    private long throttledSince;

    AutoConvergence(SyntheticGuest guest, ConvergenceSettings.AutoConverge parameters) {
        this(guest, parameters, System::nanoTime);
    }

    AutoConvergence(SyntheticGuest guest, ConvergenceSettings.AutoConverge parameters, LongSupplier nanoClock) {
        this.guest = guest;
        this.nanoClock = nanoClock;
        this.parameters = parameters;
        this.state = parameters.enabled() ? State.ON : State.OFF;
        this.reported = parameters.enabled();
    }

    /** Turns auto-converge on for the rest of the pre-copy; false once it has {@link #end ended}. */
    synchronized boolean enable() {
        if (state == State.ENDED) {
            return false;
        }
        if (state == State.OFF) {
            state = State.ON;
            reported = true;
            log.info("auto-converge on: the guest is throttled from {} % when it outruns the link", parameters
                    .initialPercent());
        }
        return true;
    }

    /** Turns auto-converge off, lifting the throttle; the job goes on unthrottled. */
    synchronized void disable() {
        if (state == State.ON) {
            state = State.OFF;
            lift("auto-converge turned off");
        }
    }

    /**
     * After each round's dirty sync ({@code iterations} rounds done, the first the bulk one):
     * {@code dirtiedBytes}, what the guest's RAM dirtied since the sync before; {@code
     * transferredBytes}, all the migration sent so far. Migration thread only.
     */
    void afterSync(long iterations, long dirtiedBytes, long transferredBytes) {
        long now = nanoClock.getAsLong();
        if (iterations <= 1) {
            rule.bulkRoundSynced(now, transferredBytes);
            return;
        }
        ThrottleRule.Fired fired = rule.roundSynced(now, dirtiedBytes, transferredBytes);
        if (fired != null) {
            raise(fired, now);
        }
    }

    private synchronized void raise(ThrottleRule.Fired fired, long now) {
        if (state != State.ON) {
            return;   // QEMU's rule fired, but auto-converge is off: only its count starts over
        }
        int next = ThrottleRule.raise(percent, parameters, fired.dirtiedBytes(), fired.thresholdBytes());
        if (next <= percent) {
            log.info("auto-converge: the guest still outruns the link, but its throttle stays at {} %", percent);
            return;
        }
        if (percent == 0) {
            throttledSince = now;
        }
        guest.throttle(next);
        log.info("auto-converge: guest throttled to {} % (was {} %): it dirtied {} bytes in the last {} ms, over "
                + "{} % of the {} sent", next, percent, fired.dirtiedBytes(), fired.periodMs(),
                ThrottleRule.TRIGGER_THRESHOLD_PERCENT, fired.sentBytes());
        percent = next;
        raises++;
    }

    /**
     * The guest stopped here, or the job ended ({@code why}): the throttle goes now and auto-converge
     * stays off for good. Idempotent.
     */
    synchronized void end(String why) {
        state = State.ENDED;
        lift(why);
    }

    // Caller holds the lock.
    private void lift(String why) {
        if (percent == 0) {
            return;
        }
        guest.throttle(0);
        throttledNanos += nanoClock.getAsLong() - throttledSince;
        log.info("auto-converge: throttle of {} % removed: {}", percent, why);
        percent = 0;
    }

    /** Progress's throttle figures; null when auto-converge was never on for this job. */
    synchronized MigrationProgress.Throttle figures() {
        if (!reported) {
            return null;
        }
        long nanos = throttledNanos + (percent > 0 ? nanoClock.getAsLong() - throttledSince : 0);
        return new MigrationProgress.Throttle(percent, raises, nanos / 1_000_000);
    }

    synchronized State state() {
        return state;
    }
}
