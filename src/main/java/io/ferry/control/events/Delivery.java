package io.ferry.control.events;

/** What a subscription hands its stream next. */
public sealed interface Delivery {

    /** An event from the log. */
    record Event(EventLog event) implements Delivery {
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
