package io.ferry.control.webhooks;

import io.ferry.control.events.EventFilter;
import java.net.URI;
import java.time.Instant;
import java.util.UUID;

/** A webhook subscription as the API shows it: never its secret. */
public record WebhookSubscription(UUID id, URI url, String description, EventFilter filter, Instant createdAt,
                                  DeliveryState delivery) {

    /**
     * How deliveries to it go: the last 2xx answer, failed attempts since then (any event), the
     * last failure, and how many events wait (undelivered, the one being retried included).
     */
    public record DeliveryState(Instant lastSuccessAt, int consecutiveFailures, String lastError,
                                Instant lastErrorAt, long backlog) {
    }
}
