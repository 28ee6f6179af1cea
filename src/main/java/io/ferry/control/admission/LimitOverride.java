package io.ferry.control.admission;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;

/**
 * Limits an admin set at run time: scope {@value #CLUSTER} for the cluster (its row is also
 * the lock of every admission pass), a host id for that host. Null columns fall back to the
 * configuration.
 */
@Entity
@Table(name = "admission_limits")
class LimitOverride {

    static final String CLUSTER = "*";

    @Id
    private String scope;

    @Column(name = "max_jobs")
    private Integer maxJobs;

    @Column(name = "max_outbound")
    private Integer maxOutbound;

    @Column(name = "max_inbound")
    private Integer maxInbound;

    @Column(name = "updated_at", nullable = false)
    private Instant updatedAt;

    @Version
    private long version;

    protected LimitOverride() {
    }

    LimitOverride(String scope, Instant now) {
        this.scope = scope;
        this.updatedAt = now;
    }

    void set(Integer newMaxJobs, Integer newMaxOutbound, Integer newMaxInbound, Instant now) {
        maxJobs = newMaxJobs;
        maxOutbound = newMaxOutbound;
        maxInbound = newMaxInbound;
        updatedAt = now;
    }

    String scope() {
        return scope;
    }

    Integer maxJobs() {
        return maxJobs;
    }

    Integer maxOutbound() {
        return maxOutbound;
    }

    Integer maxInbound() {
        return maxInbound;
    }
}
