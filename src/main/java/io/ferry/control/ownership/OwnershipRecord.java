package io.ferry.control.ownership;

import io.ferry.channel.OwnershipState;
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

/** One generation of a disk's ownership, kept forever as its history. */
@Entity
@Table(name = "disk_ownership_history")
public class OwnershipRecord {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    @Column(name = "disk_id", nullable = false)
    private UUID diskId;

    @Column(nullable = false)
    private long generation;

    @Column(name = "owner_host_id", nullable = false)
    private String ownerHostId;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private OwnershipState state;

    @Column(name = "from_owner_host_id")
    private String fromOwnerHostId;

    @Enumerated(EnumType.STRING)
    @Column(name = "from_state")
    private OwnershipState fromState;

    @Column(name = "job_id")
    private UUID jobId;

    @Column(nullable = false)
    private String reason;

    @Column(nullable = false)
    private String actor;

    @Column(nullable = false)
    private Instant at;

    protected OwnershipRecord() {
    }

    OwnershipRecord(DiskOwnership current, String fromOwnerHostId, OwnershipState fromState, UUID jobId,
                    String reason, String actor) {
        this.fromOwnerHostId = fromOwnerHostId;
        this.fromState = fromState;
        this.jobId = jobId;
        this.diskId = current.diskId();
        this.generation = current.generation();
        this.ownerHostId = current.ownerHostId();
        this.state = current.state();
        this.reason = reason;
        this.actor = actor;
        this.at = current.updatedAt();
    }

    public long generation() {
        return generation;
    }

    public String ownerHostId() {
        return ownerHostId;
    }

    public OwnershipState state() {
        return state;
    }

    public String fromOwnerHostId() {
        return fromOwnerHostId;
    }

    public OwnershipState fromState() {
        return fromState;
    }

    public UUID jobId() {
        return jobId;
    }

    public String reason() {
        return reason;
    }

    public String actor() {
        return actor;
    }

    public Instant at() {
        return at;
    }
}
