package io.ferry.control.drain;

import io.ferry.control.system.LabelsConverter;
import jakarta.persistence.Column;
import jakarta.persistence.Convert;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/** One drain of one host: its guests are asked to move elsewhere, each through admission like any job. */
@Entity
@Table(name = "host_drains")
public class HostDrain {

    @Id
    private UUID id;

    @Column(name = "host_id", nullable = false)
    private String hostId;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private DrainState state;

    /** Labels every destination must carry (beyond the policies' own). */
    @Convert(converter = LabelsConverter.class)
    @Column(name = "destination_selector", nullable = false)
    private Map<String, String> destinationSelector = new TreeMap<>();

    @Column(name = "max_attempts", nullable = false)
    private int maxAttempts;

    @Column(name = "requested_by", nullable = false)
    private String requestedBy;

    @Column(name = "started_at", nullable = false)
    private Instant startedAt;

    @Column(name = "finished_at")
    private Instant finishedAt;

    @Version
    private long version;

    protected HostDrain() {
    }

    HostDrain(UUID id, String hostId, Map<String, String> destinationSelector, int maxAttempts, String requestedBy,
              Instant now) {
        this.id = id;
        this.hostId = hostId;
        this.state = DrainState.DRAINING;
        this.destinationSelector = new TreeMap<>(destinationSelector);
        this.maxAttempts = maxAttempts;
        this.requestedBy = requestedBy;
        this.startedAt = now;
    }

    void finish(DrainState end, Instant now) {
        state = end;
        finishedAt = now;
    }

    public UUID id() {
        return id;
    }

    public String hostId() {
        return hostId;
    }

    public DrainState state() {
        return state;
    }

    public Map<String, String> destinationSelector() {
        return Map.copyOf(destinationSelector);
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    public String requestedBy() {
        return requestedBy;
    }

    public Instant startedAt() {
        return startedAt;
    }

    public Instant finishedAt() {
        return finishedAt;
    }
}
