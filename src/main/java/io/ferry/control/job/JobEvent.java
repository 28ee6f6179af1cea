package io.ferry.control.job;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/**
 * One entry of a job's timeline, append-only: a transition, or a note that does not change the
 * status (why it waits, an escalation, an operator's decision), with its time, reason and actor.
 */
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

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private Kind kind;

    @Column(nullable = false)
    private String reason;

    @Column(nullable = false)
    private String actor;

    protected JobEvent() {
    }

    /** What a timeline entry records. */
    public enum Kind {
        TRANSITION("transition"),
        /** A queued job's wait: the limit it waits for, recorded when that changes. */
        WAITING("waiting"),
        /** A policy's timeout fired and a step of its escalation ladder was taken. */
        ESCALATION("escalation"),
        /** An operator's decision that is not a plain transition (e.g. which side of a stranded post-copy to keep). */
        DECISION("decision"),
        /**
         * The destination activated the disks and runs the guest: the commit point of a
         * pre-copy. The job completes with the source's final figures.
         */
        HANDOFF("handoff");

        private final String apiName;

        Kind(String apiName) {
            this.apiName = apiName;
        }

        public String apiName() {
            return apiName;
        }
    }

    JobEvent(UUID jobId, Instant at, JobStatus from, JobStatus to, String reason, String actor) {
        this(jobId, at, from, to, Kind.TRANSITION, reason, actor);
    }

    JobEvent(UUID jobId, Instant at, JobStatus from, JobStatus to, Kind kind, String reason, String actor) {
        this.jobId = jobId;
        this.kind = kind;
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

    public Kind kind() {
        return kind;
    }

    public String reason() {
        return reason;
    }

    public String actor() {
        return actor;
    }
}
