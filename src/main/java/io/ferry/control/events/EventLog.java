package io.ferry.control.events;

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
 * One row of the event log: written in the transaction of the change it describes, so it
 * exists exactly when the change does. The id is the SSE event id (an identity column: it
 * grows, with holes where a transaction rolled back).
 */
@Entity
@Table(name = "event_log")
public class EventLog {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private EventType type;

    @Column(name = "job_id")
    private UUID jobId;

    @Column(name = "guest_id")
    private UUID guestId;

    @Column(name = "host_id")
    private String hostId;

    @Column(name = "peer_host_id")
    private String peerHostId;

    @Column(nullable = false)
    private Instant at;

    /** The {@link EventPayload} as JSON. */
    @Column(nullable = false)
    private String payload;

    protected EventLog() {
    }

    EventLog(EventPayload event, Instant at, String payload) {
        this.type = event.type();
        this.jobId = event.jobId();
        this.guestId = event.guestId();
        this.hostId = event.hostId();
        this.peerHostId = event.peerHostId();
        this.at = at;
        this.payload = payload;
    }

    public long id() {
        return id;
    }

    public EventType type() {
        return type;
    }

    public UUID jobId() {
        return jobId;
    }

    public UUID guestId() {
        return guestId;
    }

    public String hostId() {
        return hostId;
    }

    public String peerHostId() {
        return peerHostId;
    }

    public Instant at() {
        return at;
    }

    public String payload() {
        return payload;
    }
}
