package io.ferry.control.guest;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** A raw disk image of a guest, kept in the datastore as {@code <id>.img}. */
@Entity
@Table(name = "disks")
public class Disk {

    @Id
    private UUID id;

    @Column(name = "guest_id", nullable = false)
    private UUID guestId;

    @Column(nullable = false)
    private String name;

    @Column(name = "size_bytes", nullable = false)
    private long sizeBytes;

    @Column(name = "created_at", nullable = false)
    private Instant createdAt;

    protected Disk() {
    }

    Disk(UUID id, UUID guestId, String name, long sizeBytes, Instant createdAt) {
        this.id = id;
        this.guestId = guestId;
        this.name = name;
        this.sizeBytes = sizeBytes;
        this.createdAt = createdAt;
    }

    public UUID id() {
        return id;
    }

    public UUID guestId() {
        return guestId;
    }

    public String name() {
        return name;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public Instant createdAt() {
        return createdAt;
    }
}
