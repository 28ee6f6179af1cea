package io.ferry.control.job;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** One entry of a job's timeline: a transition with its time, reason and actor. Append-only. */
@Entity
@Table(name = "job_events")
public class JobEvent {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    @Column(name = "job_id", nullable = false)
    private UUID jobId;

    @Column(nullable = false)
    private Instant at;

    @Column(name = "from_status")
    private JobStatus from;

    @Column(name = "to_status", nullable = false)
    private JobStatus to;

    @Column(nullable = false)
    private String reason;

    @Column(nullable = false)
    private String actor;

    protected JobEvent() {
    }

    JobEvent(UUID jobId, Instant at, JobStatus from, JobStatus to, String reason, String actor) {
        this.jobId = jobId;
        this.at = at;
        this.from = from;
        this.to = to;
        this.reason = reason;
        this.actor = actor;
    }

    public UUID jobId() {
        return jobId;
    }

    public Instant at() {
        return at;
    }

    /** Null for the event that created the job. */
    public JobStatus from() {
        return from;
    }

    public JobStatus to() {
        return to;
    }

    public String reason() {
        return reason;
    }

    public String actor() {
        return actor;
    }
}
