package io.ferry.control.job;

import io.ferry.channel.MigrationProgress;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Bounds how often a job's figures are written and pushed, however often its worker reports
 * (Nova's per-migration progress writes once overloaded its message bus). A figures-only report
 * that comes sooner than {@code ferry.events.progress-interval} after the last write is held
 * here, the newest replacing older ones, and written by {@link ReportHandler#flushHeld} once due.
 * Status changes are never held, and a report that changes status takes the held figures with
 * it, so a terminal job's figures are final when it becomes terminal.
 *
 * <p>One replica's view: reports for one job are applied one at a time under {@link #lock}.
 */
@Component
class ProgressThrottle {

    record Held(MigrationProgress progress, String json) {
    }

    private final Duration interval;
    private final Map<UUID, Held> held = new ConcurrentHashMap<>();
    private final Map<UUID, Instant> lastWritten = new ConcurrentHashMap<>();
    private final Map<UUID, Instant> lastPushed = new ConcurrentHashMap<>();
    /** Striped locks: reports (and flushes) of one job are applied one at a time. */
    private final Object[] locks = new Object[64];

    ProgressThrottle(@Value("${ferry.events.progress-interval:500ms}") Duration interval) {
        this.interval = interval;
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new Object();
        }
    }

    Object lock(UUID jobId) {
        return locks[Math.floorMod(jobId.hashCode(), locks.length)];
    }

    /** True when figures written now would keep to the interval. */
    boolean writeDue(UUID jobId, Instant now) {
        Instant last = lastWritten.get(jobId);
        return last == null || !now.isBefore(last.plus(interval));
    }

    void written(UUID jobId, Instant now) {
        lastWritten.put(jobId, now);
    }

    /** True (and counted) when a progress event may be pushed now. */
    boolean pushDue(UUID jobId, Instant now) {
        Instant last = lastPushed.get(jobId);
        if (last != null && now.isBefore(last.plus(interval))) {
            return false;
        }
        lastPushed.put(jobId, now);
        return true;
    }

    void hold(UUID jobId, MigrationProgress progress, String json) {
        held.put(jobId, new Held(progress, json));
    }

    Held take(UUID jobId) {
        return held.remove(jobId);
    }

    Iterable<UUID> holding() {
        return held.keySet();
    }

    /** Forgets the timing of jobs not written since {@code before} (finished, or driven elsewhere). */
    void expire(Instant before) {
        lastWritten.values().removeIf(at -> at.isBefore(before));
        lastPushed.values().removeIf(at -> at.isBefore(before));
    }

    /** The job ended: forget it. */
    void forget(UUID jobId) {
        held.remove(jobId);
        lastWritten.remove(jobId);
        lastPushed.remove(jobId);
    }
}
