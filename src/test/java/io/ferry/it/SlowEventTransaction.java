package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.control.events.EventRecorder;
import io.ferry.control.events.Payloads;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A transaction that records one event (the guest's state, "running") and then holds until
 * {@link #commit}: its id is drawn at once but becomes visible only then, as a slow transaction's does.
 */
final class SlowEventTransaction {

    private final CountDownLatch inserted = new CountDownLatch(1);
    private final CountDownLatch commit = new CountDownLatch(1);
    private final Thread thread;

    /** Starts it and returns once its event is inserted (not committed). */
    SlowEventTransaction(PlatformTransactionManager transactions, EventRecorder events, String guestId)
            throws InterruptedException {
        thread = new Thread(() -> new TransactionTemplate(transactions).executeWithoutResult(status -> {
            events.record(new Payloads.GuestChanged(UUID.fromString(guestId), Payloads.GuestChange.STATE, "host-a",
                    "running", null));
            inserted.countDown();
            try {
                commit.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }), "slow-transaction");
        thread.start();
        assertThat(inserted.await(30, TimeUnit.SECONDS)).as("the slow transaction inserted its event").isTrue();
    }

    void commit() throws InterruptedException {
        commit.countDown();
        thread.join(30_000);
    }
}
