package io.ferry.control.events;

/** What a subscription hands its stream next. */
public sealed interface Delivery {

    /**
     * An event from the log. {@code late}: it committed after the feed had taken its id for a
     * rolled-back transaction's and moved past it; it comes after events with higher ids, and a
     * stream sends it without an SSE id so the client's resume point does not move back.
     */
    record Event(EventLog event, boolean late) implements Delivery {

        public Event(EventLog event) {
            this(event, false);
        }
    }

    /**
     * Events after {@code lastEventId} up to {@code prunedThroughId} expired before this
     * subscriber asked for them; the stream goes on after {@code prunedThroughId}.
     */
    record Gap(long lastEventId, long prunedThroughId) implements Delivery {
    }

    /** The subscription ended: the client was too slow for its buffer, or the feed stopped. */
    record Closed(String reason) implements Delivery {
    }
}
