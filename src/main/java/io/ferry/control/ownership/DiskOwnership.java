package io.ferry.control.ownership;

import io.ferry.channel.OwnershipState;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;
import java.util.UUID;

/**
 * Who may write one disk image. The generation only grows and is the fencing token a worker
 * must hold to write; each step of a hand-off moves it by one.
 */
@Entity
@Table(name = "disk_ownership")
public class DiskOwnership {

    @Id
    @Column(name = "disk_id")
    private UUID diskId;

    /** During HANDOFF: the host that held it ACTIVE before. */
    @Column(name = "owner_host_id", nullable = false)
    private String ownerHostId;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private OwnershipState state;

    @Column(nullable = false)
    private long generation;

    @Column(name = "updated_at", nullable = false)
    private Instant updatedAt;

    @Version
    private long version;

    protected DiskOwnership() {
    }

    DiskOwnership(UUID diskId, String ownerHostId, Instant now) {
        this.diskId = diskId;
        this.ownerHostId = ownerHostId;
        this.state = OwnershipState.ACTIVE;
        this.generation = 1;
        this.updatedAt = now;
    }

    void advance(String newOwner, OwnershipState newState, Instant now) {
        ownerHostId = newOwner;
        state = newState;
        generation++;
        updatedAt = now;
    }

    public UUID diskId() {
        return diskId;
    }

    public String ownerHostId() {
        return ownerHostId;
    }

    public OwnershipState state() {
        return state;
    }

    public long generation() {
        return generation;
    }

    public Instant updatedAt() {
        return updatedAt;
    }
}
