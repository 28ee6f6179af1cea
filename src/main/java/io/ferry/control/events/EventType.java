package io.ferry.control.events;

import java.util.Arrays;

/** What an event describes; the SSE event name. Never reuse a retired name. */
public enum EventType {
    /** A job's status changed, or a timeline entry that is not a transition (a wait, an escalation). */
    JOB("job"),
    /** A job's figures, at most once per {@code ferry.events.progress-interval} per job. */
    JOB_PROGRESS("job-progress"),
    /** A guest was created, deleted, changed state, moved, or was claimed or released by a job. */
    GUEST("guest"),
    /** A worker host registered, became (un)reachable, or was cordoned. */
    HOST("host"),
    /** A disk's ownership record advanced (owner, state, generation). */
    OWNERSHIP("ownership");

    private final String apiName;

    EventType(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static EventType fromApiName(String name) {
        return Arrays.stream(values()).filter(t -> t.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown event type '" + name + "'"));
    }
}
