package io.ferry.control.drain;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.EmbeddedId;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.UUID;

/**
 * One guest of a drain and its tries. A failed move is tried again after a back-off that doubles
 * (2 s, 4 s, … at most 60 s), avoiding the destinations already tried where another exists, at
 * most the drain's {@code maxAttempts} times: a drain never loops.
 */
@Entity
@Table(name = "drain_guests")
public class DrainGuest {

    static final Duration FIRST_BACKOFF = Duration.ofSeconds(2);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(60);

    @Embeddable
    public record Key(@Column(name = "drain_id") UUID drainId, @Column(name = "guest_id") UUID guestId)
            implements Serializable {
    }

    @EmbeddedId
    private Key key;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private DrainGuestState state;

    @Column(nullable = false)
    private int attempts;

    @Column(name = "job_id")
    private UUID jobId;

    @Column(name = "tried_destinations", nullable = false)
    private String triedDestinations;

    @Column(name = "next_attempt_at")
    private Instant nextAttemptAt;

    private String cause;

    @Column(name = "updated_at", nullable = false)
    private Instant updatedAt;

    @Version
    private long version;

    protected DrainGuest() {
    }

    DrainGuest(UUID drainId, UUID guestId, Instant now) {
        this.key = new Key(drainId, guestId);
        this.state = DrainGuestState.PENDING;
        this.triedDestinations = "";
        this.nextAttemptAt = now;
        this.updatedAt = now;
    }

    boolean isDue(Instant now) {
        return state == DrainGuestState.PENDING && (nextAttemptAt == null || !now.isBefore(nextAttemptAt));
    }

    void moving(UUID job, Instant now) {
        state = DrainGuestState.MOVING;
        jobId = job;
        attempts++;
        updatedAt = now;
    }

    /** Still waiting to be placed: keeps the reason visible, tries again at the next pass. */
    void notPlacedYet(String why, Instant now) {
        cause = why;
        updatedAt = now;
    }

    void settle(DrainGuestState end, String why, Instant now) {
        state = end;
        cause = why;
        updatedAt = now;
    }

    /** The move's job failed on {@code destination}: back off and try again, or give up after the last attempt. */
    void moveFailed(String destination, String why, int maxAttempts, Instant now) {
        Set<String> tried = tried();
        tried.add(destination);
        triedDestinations = String.join(",", tried);
        cause = why;
        updatedAt = now;
        if (attempts >= maxAttempts) {
            state = DrainGuestState.FAILED;
            cause = "gave up after " + attempts + " attempt(s); the last failed: " + why;
            return;
        }
        state = DrainGuestState.PENDING;
        Duration backoff = FIRST_BACKOFF.multipliedBy(1L << Math.min(attempts - 1, 10));
        nextAttemptAt = now.plus(backoff.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff);
    }

    Set<String> tried() {
        Set<String> tried = new LinkedHashSet<>();
        if (!triedDestinations.isEmpty()) {
            tried.addAll(Arrays.asList(triedDestinations.split(",")));
        }
        return tried;
    }

    public UUID drainId() {
        return key.drainId();
    }

    public UUID guestId() {
        return key.guestId();
    }

    public DrainGuestState state() {
        return state;
    }

    public int attempts() {
        return attempts;
    }

    public UUID jobId() {
        return jobId;
    }

    public Instant nextAttemptAt() {
        return nextAttemptAt;
    }

    public String cause() {
        return cause;
    }
}
