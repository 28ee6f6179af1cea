package io.ferry.control.idempotency;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;
import java.io.Serializable;
import java.time.Instant;
import java.util.UUID;
import org.springframework.data.domain.Persistable;

/** The first result of a POST that carried an Idempotency-Key. */
@Entity
@Table(name = "idempotency_records")
@IdClass(IdempotencyRecord.Key.class)
class IdempotencyRecord implements Persistable<IdempotencyRecord.Key> {

    record Key(String scope, String idempotencyKey) implements Serializable {
    }

    @Id
    private String scope;

    @Id
    @Column(name = "idempotency_key")
    private String idempotencyKey;

    @Column(name = "request_fingerprint", nullable = false)
    private String requestFingerprint;

    @Column(name = "resource_id", nullable = false)
    private UUID resourceId;

    @Column(name = "created_at", nullable = false)
    private Instant createdAt;

    protected IdempotencyRecord() {
    }

    IdempotencyRecord(IdempotencyKey key, UUID resourceId, Instant createdAt) {
        this.scope = key.scope();
        this.idempotencyKey = key.key();
        this.requestFingerprint = key.fingerprint();
        this.resourceId = resourceId;
        this.createdAt = createdAt;
    }

    /** Records are only ever inserted: a second insert of a key must collide, never overwrite. */
    @Override
    public boolean isNew() {
        return true;
    }

    @Override
    public Key getId() {
        return new Key(scope, idempotencyKey);
    }

    String requestFingerprint() {
        return requestFingerprint;
    }

    UUID resourceId() {
        return resourceId;
    }
}
