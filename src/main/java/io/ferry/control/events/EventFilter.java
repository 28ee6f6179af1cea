package io.ferry.control.events;

import java.util.Set;
import java.util.UUID;

/** Which events a subscriber wants; a null or empty criterion matches everything. */
public record EventFilter(Set<EventType> types, UUID jobId, UUID guestId, String hostId) {

    public static final EventFilter ALL = new EventFilter(Set.of(), null, null, null);

    public EventFilter {
        types = types == null ? Set.of() : Set.copyOf(types);
    }

    public boolean matches(EventLog event) {
        return (types.isEmpty() || types.contains(event.type()))
                && (jobId == null || jobId.equals(event.jobId()))
                && (guestId == null || guestId.equals(event.guestId()))
                && (hostId == null || hostId.equals(event.hostId()) || hostId.equals(event.peerHostId()));
    }
}
