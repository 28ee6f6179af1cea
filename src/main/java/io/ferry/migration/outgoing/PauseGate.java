package io.ferry.migration.outgoing;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One pause at a time on a host. A pause's checksums, last pages and hand-off need the host's
 * cores; eight pauses at once on two cores each took four times as long as one alone and all
 * overran their limits. So a migration whose rest fits its limit waits here, its guest still
 * running, for the pause before it to end; if that takes longer than a short wait, it sends
 * another round meanwhile and asks again. Fair: the longest waiting goes first.
 */
public final class PauseGate {

    private final Semaphore permit = new Semaphore(1, true);

    /** True once this migration may pause; false after {@code waitMs} with another pause still running. */
    boolean tryEnter(long waitMs) throws InterruptedException {
        return permit.tryAcquire(waitMs, TimeUnit.MILLISECONDS);
    }

    /** The pause is over (or will not happen): the next may begin. */
    void leave() {
        permit.release();
    }
}
