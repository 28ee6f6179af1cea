package io.ferry.control.api;

import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventLog;
import io.ferry.control.events.EventStreams;
import io.ferry.control.events.EventType;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The event stream (Server-Sent Events): replays the log after {@code Last-Event-ID} (or starts
 * now), then follows it, through {@link EventStreams} (a sender thread per stream, keep-alive
 * comments so proxies keep idle streams open, a {@code gap} event when events expired).
 */
@RestController
@RequestMapping("/api/v1/events")
class EventController {

    /** One event as its {@code data:} line carries it. */
    record EventResponse(long id, String type, Instant at, UUID jobId, UUID guestId, String hostId,
                         String peerHostId, JsonNode payload) {
    }

    private final EventStreams streams;
    private final JsonMapper json;

    EventController(EventStreams streams, JsonMapper json) {
        this.streams = streams;
        this.json = json;
    }

    @GetMapping(produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter stream(@RequestParam(required = false) UUID job, @RequestParam(required = false) UUID guest,
                      @RequestParam(required = false) String host, @RequestParam(required = false) List<String> type,
                      @RequestHeader(name = "Last-Event-ID", required = false) String lastEventId) {
        EventFilter filter = new EventFilter(types(type), job, guest, host);
        return streams.open(filter, lastEventId(lastEventId), this::view);
    }

    private EventResponse view(EventLog event) {
        return new EventResponse(event.id(), event.type().apiName(), event.at(), event.jobId(), event.guestId(),
                event.hostId(), event.peerHostId(), json.readTree(event.payload()));
    }

    private static Set<EventType> types(List<String> names) {
        Set<EventType> types = EnumSet.noneOf(EventType.class);
        if (names == null) {
            return types;
        }
        for (String list : names) {
            for (String name : list.split(",")) {
                try {
                    types.add(EventType.fromApiName(name.strip()));
                } catch (IllegalArgumentException e) {
                    throw new InvalidRequestException("type", e.getMessage());
                }
            }
        }
        return types;
    }

    private static Long lastEventId(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        try {
            return StrictRequests.decimal(header.strip(), 0, Long.MAX_VALUE);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("Last-Event-ID", "must be an event id (a number)");
        }
    }
}
