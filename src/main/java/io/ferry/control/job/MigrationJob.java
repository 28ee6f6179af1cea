package io.ferry.control.job;

import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;
import java.util.UUID;

/**
 * One migration of one guest. Holds lifecycle status and the resolved parameters; the
 * failure detail is a separate field and the first failure recorded is the one kept.
 * The version column makes every save a compare-and-set.
 */
@Entity
@Table(name = "migration_jobs")
public class MigrationJob {

    @Id
    private UUID id;

    @Column(name = "guest_id", nullable = false)
    private UUID guestId;

    @Column(name = "source_host_id", nullable = false)
    private String sourceHostId;

    @Column(name = "destination_host_id", nullable = false)
    private String destinationHostId;

    @Column(nullable = false)
    private JobStatus status;

    @Column(name = "status_reason", nullable = false)
    private String statusReason;

    private String failure;

    @Embedded
    private MigrationParameters parameters;

    /** The source's latest query-migrate figures, as JSON. */
    private String progress;

    /** The destination's digests at switchover (verifyChecksums), as JSON. */
    @Column(name = "destination_verification")
    private String destinationVerification;

    /** The destination's post-copy page-fault latencies, as JSON. */
    @Column(name = "destination_faults")
    private String destinationFaults;

    @Column(name = "created_at", nullable = false)
    private Instant createdAt;

    @Column(name = "updated_at", nullable = false)
    private Instant updatedAt;

    @Column(name = "started_at")
    private Instant startedAt;

    @Column(name = "finished_at")
    private Instant finishedAt;

    @Version
    private long version;

    protected MigrationJob() {
    }

    private MigrationJob(UUID id, UUID guestId, String sourceHostId, String destinationHostId,
                         MigrationParameters parameters, Instant now) {
        this.id = id;
        this.guestId = guestId;
        this.sourceHostId = sourceHostId;
        this.destinationHostId = destinationHostId;
        this.parameters = parameters;
        this.status = JobStatus.QUEUED;
        this.statusReason = EngineFeatures.QUEUED_REASON;
        this.createdAt = now;
        this.updatedAt = now;
    }

    /** A new job starts queued. */
    static MigrationJob queue(UUID id, UUID guestId, String sourceHostId, String destinationHostId,
                              MigrationParameters parameters, Instant now) {
        return new MigrationJob(id, guestId, sourceHostId, destinationHostId, parameters, now);
    }

    /** The first timeline entry: the job came into being as queued. */
    JobEvent creationEvent(String actor) {
        return new JobEvent(id, createdAt, null, JobStatus.QUEUED, statusReason, actor);
    }

    /** Moves along one edge of the transition table, or throws naming both states. */
    JobEvent transitionTo(JobStatus next, String reason, String actor, Instant now) {
        status.checkTransition(next);
        JobEvent event = new JobEvent(id, now, status, next, reason, actor);
        if (status == JobStatus.QUEUED) {
            startedAt = now;
        }
        status = next;
        statusReason = reason;
        updatedAt = now;
        if (next.isTerminal()) {
            finishedAt = now;
        }
        return event;
    }

    /** Keeps the first failure; later ones are only timeline material. */
    void recordFailure(String detail) {
        if (failure == null) {
            failure = detail;
        }
    }

    void recordProgress(String progressJson, io.ferry.channel.MigrationProgress figures, Instant now) {
        progress = progressJson;
        updatedAt = now;
    }

    void recordDestinationVerification(String json) {
        destinationVerification = json;
    }

    public String progress() {
        return progress;
    }

    void recordDestinationFaults(String json) {
        destinationFaults = json;
    }

    public String destinationFaults() {
        return destinationFaults;
    }

    public String destinationVerification() {
        return destinationVerification;
    }

    void tune(Long maxBandwidth, Long downtimeLimitMs, Instant now) {
        parameters.tune(maxBandwidth, downtimeLimitMs);
        updatedAt = now;
    }

    public UUID id() {
        return id;
    }

    public UUID guestId() {
        return guestId;
    }

    public String sourceHostId() {
        return sourceHostId;
    }

    public String destinationHostId() {
        return destinationHostId;
    }

    public JobStatus status() {
        return status;
    }

    public String statusReason() {
        return statusReason;
    }

    public String failure() {
        return failure;
    }

    public MigrationParameters parameters() {
        return parameters;
    }

    public Instant createdAt() {
        return createdAt;
    }

    public Instant updatedAt() {
        return updatedAt;
    }

    public Instant startedAt() {
        return startedAt;
    }

    public Instant finishedAt() {
        return finishedAt;
    }

    public long version() {
        return version;
    }
}
