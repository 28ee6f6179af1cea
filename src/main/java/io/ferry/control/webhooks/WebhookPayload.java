package io.ferry.control.webhooks;

import io.ferry.control.events.EventLog;
import java.time.Instant;
import java.util.UUID;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The body of a delivery: the same {@code Event} an SSE stream's {@code data:} carries
 * (openapi.yaml holds both to one schema).
 */
record WebhookPayload(long id, String type, Instant at, UUID jobId, UUID guestId, String hostId, String peerHostId,
                      JsonNode payload) {

    static String json(EventLog event, JsonMapper json) {
        return json.writeValueAsString(new WebhookPayload(event.id(), event.type().apiName(), event.at(),
                event.jobId(), event.guestId(), event.hostId(), event.peerHostId(), json.readTree(event.payload())));
    }
}
