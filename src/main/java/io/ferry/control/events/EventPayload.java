package io.ferry.control.events;

import java.util.UUID;

/**
 * The body of one event, one record per {@link EventType} (see {@link Payloads}). The subject ids
 * are stored beside the payload so the stream can be filtered without reading it.
 */
public sealed interface EventPayload permits Payloads.JobChanged, Payloads.JobProgressed, Payloads.GuestChanged,
        Payloads.HostChanged, Payloads.OwnershipChanged {

    EventType type();

    default UUID jobId() {
        return null;
    }

    default UUID guestId() {
        return null;
    }

    /** The host the event is about (for a job: its source). */
    default String hostId() {
        return null;
    }

    /** A second host it concerns (for a job: its destination; for ownership: the previous owner). */
    default String peerHostId() {
        return null;
    }
}
