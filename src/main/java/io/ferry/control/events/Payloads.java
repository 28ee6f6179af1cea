package io.ferry.control.events;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.UUID;

/**
 * The payloads, kept small: ids, states and figures, no whole records. States are the API
 * names of the feature rooms' enums (the rooms build these records, this room imports none of
 * them); each record's JSON is a schema of openapi.yaml.
 */
public final class Payloads {

    private Payloads() {
    }

    /** A job's status change ({@code kind} transition) or another timeline entry. */
    public record JobChanged(UUID jobId, UUID guestId, String sourceHostId, String destinationHostId, String kind,
                             String from, String to, String reason, String actor) implements EventPayload {
        @Override @JsonIgnore public EventType type() { return EventType.JOB; }
        @Override @JsonIgnore public String hostId() { return sourceHostId; }
        @Override @JsonIgnore public String peerHostId() { return destinationHostId; }
    }

    /**
     * A job's figures (QEMU's query-migrate, the main ones); bytes are RAM plus disk images. The
     * dirty rate and the post-copy fault latency (p99, null before any fault) are here too, so a
     * job's history draws every chart a live page draws.
     */
    public record JobProgressed(UUID jobId, UUID guestId, String sourceHostId, String destinationHostId,
                                String status, long totalTimeMs, Long expectedDowntimeMs, Long downtimeMs,
                                long totalBytes, long transferredBytes, long remainingBytes, long iterations,
                                double mbps, long dirtyPagesRate, Double postcopyFaultP99Ms) implements EventPayload {
        @Override @JsonIgnore public EventType type() { return EventType.JOB_PROGRESS; }
        @Override @JsonIgnore public String hostId() { return sourceHostId; }
        @Override @JsonIgnore public String peerHostId() { return destinationHostId; }
    }

    public enum GuestChange {
        CREATED("created"), STATE("state"), MOVED("moved"), CLAIMED("claimed"), RELEASED("released"),
        LOST("lost"), DELETED("deleted"),
        /** A dirty-rate measurement started, or ended with figures or a failure (the guest's {@code dirtyRate}). */
        DIRTY_RATE_MEASURING("dirty-rate-measuring"), DIRTY_RATE_MEASURED("dirty-rate-measured"),
        DIRTY_RATE_FAILED("dirty-rate-failed");

        private final String apiName;

        GuestChange(String apiName) {
            this.apiName = apiName;
        }

        @JsonValue
        public String apiName() {
            return apiName;
        }
    }

    public record GuestChanged(UUID guestId, GuestChange change, String hostId, String state, UUID activeJobId)
            implements EventPayload {
        @Override @JsonIgnore public EventType type() { return EventType.GUEST; }
        @Override @JsonIgnore public UUID jobId() { return activeJobId; }
    }

    public enum HostChange {
        REGISTERED("registered"), REACHABLE("reachable"), UNREACHABLE("unreachable"), CORDONED("cordoned"),
        UNCORDONED("uncordoned");

        private final String apiName;

        HostChange(String apiName) {
            this.apiName = apiName;
        }

        @JsonValue
        public String apiName() {
            return apiName;
        }
    }

    public record HostChanged(String hostId, HostChange change, String state, boolean cordoned, String workerInstance)
            implements EventPayload {
        @Override @JsonIgnore public EventType type() { return EventType.HOST; }
    }

    /** One compare-and-set step of a disk's ownership. */
    public record OwnershipChanged(UUID diskId, UUID jobId, String ownerHostId, String state, long generation,
                                   String fromOwnerHostId, String fromState) implements EventPayload {
        @Override @JsonIgnore public EventType type() { return EventType.OWNERSHIP; }
        @Override @JsonIgnore public String hostId() { return ownerHostId; }
        @Override @JsonIgnore public String peerHostId() { return fromOwnerHostId; }
    }
}
