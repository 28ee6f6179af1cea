package io.ferry.control.job;

import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import io.ferry.channel.MigrationProgress;
import io.ferry.control.guest.GuestState;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
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

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private JobPriority priority;

    /** The guest's memory: what the job reserves on its destination while it is admitted. */
    @Column(name = "memory_bytes", nullable = false)
    private long memoryBytes;

    @Column(name = "transfer_bytes", nullable = false)
    private long transferBytes;

    /** What a queued job waits for ("outbound limit of host-a: 2 of 2"); null once admitted. */
    @Column(name = "waiting_for")
    private String waitingFor;

    /** Which limit it waits for, without counts: a change of limit is a timeline entry, a change of counts is not. */
    @Column(name = "waiting_key")
    private String waitingKey;

    /** The drain that asked for this job, if one did. */
    @Column(name = "drain_id")
    private UUID drainId;

    /** The worker processes the job was started on (a restarted worker has lost its half). */
    @Column(name = "source_worker_instance")
    private String sourceWorkerInstance;

    @Column(name = "destination_worker_instance")
    private String destinationWorkerInstance;

    /** Running or paused: what the guest was when the job was made, and is wherever the job leaves it. */
    @Column(name = "guest_run_state", nullable = false)
    private String guestRunState;

    @Embedded
    private JobPolicy policy;

    @Embedded
    private JobDeadlines deadlines;

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

    private MigrationJob(UUID id, JobPlan plan, Instant now) {
        this.id = id;
        this.guestId = plan.guestId();
        this.sourceHostId = plan.sourceHostId();
        this.destinationHostId = plan.destinationHostId();
        this.parameters = plan.parameters();
        this.priority = plan.priority();
        this.policy = plan.policy();
        this.memoryBytes = plan.memoryBytes();
        this.transferBytes = plan.transferBytes();
        this.drainId = plan.drainId();
        this.guestRunState = plan.guestRunState().apiName();
        this.deadlines = JobDeadlines.none();
        this.status = JobStatus.QUEUED;
        this.statusReason = EngineFeatures.QUEUED_REASON;
        this.createdAt = now;
        this.updatedAt = now;
    }

    /** A new job starts queued. */
    static MigrationJob queue(UUID id, JobPlan plan, Instant now) {
        return new MigrationJob(id, plan, now);
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
            waitingFor = null;
            waitingKey = null;
            if (next == JobStatus.SETUP) {
                deadlines.start(now, transferBytes, policy);
            }
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

    void recordProgress(String progressJson, MigrationProgress figures, Instant now) {
        progress = progressJson;
        // before the first page went out "remaining" is not known yet (reported as 0): not a low
        if ((status == JobStatus.ACTIVE || status == JobStatus.SETUP) && figures.ram().transferred() > 0) {
            deadlines.recordRemaining(figures.ram().remaining()
                    + (figures.disk() == null ? 0 : figures.disk().remaining()), now, policy);
        }
        updatedAt = now;
    }

    /** Something happened to the job that is not a status change (the destination took the guest over). */
    public void touch(Instant now) {
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

    void tune(JobTuning tuning, Instant now) {
        parameters.tune(tuning.maxBandwidth(), tuning.downtimeLimitMs());
        if (Boolean.TRUE.equals(tuning.autoConverge())) {
            parameters.enableAutoConverge();
        }
        updatedAt = now;
    }

    /** Records what a queued job waits for; true when that changed (a new limit, not new counts). */
    boolean waitFor(String reason, String limitKey) {
        boolean changed = !limitKey.equals(waitingKey);
        waitingFor = reason;
        waitingKey = limitKey;
        return changed;
    }

    /** The next rung of the policy's ladder if one is due (pre-copy only: a running post-copy is never aborted). */
    public EscalationStep dueEscalation(Instant now) {
        if (status != JobStatus.ACTIVE && status != JobStatus.SETUP) {
            return null;
        }
        return deadlines.dueStep(now, policy.escalation());
    }

    /** A rung was taken; the next follows after the policy's grace, or at once when this one was skipped. */
    void escalated(Instant now, boolean skipped) {
        deadlines.escalated(now, skipped ? 0 : policy.escalationGraceSeconds());
        updatedAt = now;
    }

    /** The downtime ramp's next step, if due (while pre-copy runs). */
    public DowntimeRamp.Step dueRampStep(Instant now) {
        if (status != JobStatus.ACTIVE && status != JobStatus.SETUP) {
            return null;
        }
        return deadlines.dueRampStep(startedAt, now, policy.downtimeRamp());
    }

    void rampApplied(long downtimeLimitMs, Instant now) {
        parameters.tune(null, downtimeLimitMs);
        deadlines.rampApplied();
        updatedAt = now;
    }

    void startedOn(String sourceInstance, String destinationInstance) {
        sourceWorkerInstance = sourceInstance;
        destinationWorkerInstance = destinationInstance;
    }

    public String sourceWorkerInstance() {
        return sourceWorkerInstance;
    }

    public String destinationWorkerInstance() {
        return destinationWorkerInstance;
    }

    public GuestState guestRunState() {
        return GuestState.fromApiName(guestRunState);
    }

    public JobPriority priority() {
        return priority;
    }

    public long memoryBytes() {
        return memoryBytes;
    }

    public long transferBytes() {
        return transferBytes;
    }

    public String waitingFor() {
        return waitingFor;
    }

    public UUID drainId() {
        return drainId;
    }

    public JobPolicy policy() {
        return policy;
    }

    public JobDeadlines deadlines() {
        return deadlines;
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
