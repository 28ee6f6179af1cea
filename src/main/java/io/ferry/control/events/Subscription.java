package io.ferry.control.events;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One subscriber's place in the log and its bounded buffer. The feed's follower thread fills
 * the buffer (and alone moves {@link #cursor}); the subscriber's stream drains it. A buffer that
 * overflows closes the subscription: a slow client is disconnected (it may resume with its last
 * event id) instead of holding memory.
 */
public final class Subscription implements AutoCloseable {

    private static final Delivery WAKE_UP = new Delivery.Closed("wake-up");

    final EventFilter filter;
    private final BlockingQueue<Delivery> buffer;
    /** Highest log id this subscriber has been given or skipped; the follower thread's alone. */
    long cursor;
    private volatile String closedBecause;

    Subscription(EventFilter filter, int bufferSize, long cursor) {
        this.filter = filter;
        this.buffer = new ArrayBlockingQueue<>(bufferSize);
        this.cursor = cursor;
    }

    /** The next delivery, or null when nothing came within {@code wait} (time for a heartbeat). */
    public Delivery next(Duration wait) throws InterruptedException {
        String reason = closedBecause;
        if (reason != null) {
            return new Delivery.Closed(reason);
        }
        Delivery next = buffer.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        reason = closedBecause;
        if (reason != null) {
            return new Delivery.Closed(reason);
        }
        return next == WAKE_UP ? null : next;
    }

    public boolean isClosed() {
        return closedBecause != null;
    }

    @Override
    public void close() {
        close("closed by the subscriber");
    }

    void close(String reason) {
        if (closedBecause == null) {
            closedBecause = reason;
            buffer.clear();
            buffer.offer(WAKE_UP);
        }
    }

    /** Room for at least this many more deliveries. */
    boolean hasRoom(int deliveries) {
        return buffer.remainingCapacity() >= deliveries;
    }

    /** False (and the subscription closed) when the buffer is full. */
    boolean offer(Delivery delivery) {
        if (closedBecause != null) {
            return false;
        }
        if (!buffer.offer(delivery)) {
            close("too slow: more than " + (buffer.size()) + " events waited to be sent");
            return false;
        }
        return true;
    }
}
