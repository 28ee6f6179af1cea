package io.ferry.control.api;

import io.ferry.control.events.Delivery;
import io.ferry.control.events.EventFeed;
import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventLog;
import io.ferry.control.events.EventType;
import io.ferry.control.events.Subscription;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.beans.factory.annotation.Value;
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
 * now), then follows it. Each connection has a sender thread that drains its bounded
 * {@link Subscription} and writes a {@code : keep-alive} comment when nothing came for the
 * heartbeat interval, so proxies keep idle streams open.
 */
@RestController
@RequestMapping("/api/v1/events")
class EventController {

    /** One event as its {@code data:} line carries it. */
    record EventResponse(long id, String type, Instant at, UUID jobId, UUID guestId, String hostId,
                         String peerHostId, JsonNode payload) {
    }

    /** The {@code data:} of a {@code gap} event: the events after lastEventId through prunedThroughId expired. */
    record GapResponse(long lastEventId, long prunedThroughId) {
    }

    static final String GAP = "gap";

    private final EventFeed feed;
    private final JsonMapper json;
    private final Duration heartbeat;
    private final AtomicInteger threads = new AtomicInteger();
    private final ExecutorService senders = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sse-sender-" + threads.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    EventController(EventFeed feed, JsonMapper json, @Value("${ferry.events.heartbeat:15s}") Duration heartbeat) {
        this.feed = feed;
        this.json = json;
        this.heartbeat = heartbeat;
    }

    @PreDestroy
    void stop() {
        senders.shutdownNow();
    }

    @GetMapping(produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter stream(@RequestParam(required = false) UUID job, @RequestParam(required = false) UUID guest,
                      @RequestParam(required = false) String host, @RequestParam(required = false) List<String> type,
                      @RequestHeader(name = "Last-Event-ID", required = false) String lastEventId) {
        EventFilter filter = new EventFilter(types(type), job, guest, host);
        Long after = lastEventId(lastEventId);
        SseEmitter emitter = new SseEmitter(0L);   // no timeout: the stream lasts until either side ends it
        Subscription subscription = feed.subscribe(filter, after);
        emitter.onCompletion(subscription::close);
        emitter.onTimeout(subscription::close);
        emitter.onError(e -> subscription.close());
        senders.execute(() -> pump(subscription, emitter));
        return emitter;
    }

    private void pump(Subscription subscription, SseEmitter emitter) {
        try (subscription) {
            emitter.send(SseEmitter.event().reconnectTime(2000).comment(" connected"));
            while (true) {
                Delivery next = subscription.next(heartbeat);
                if (next == null) {
                    emitter.send(SseEmitter.event().comment(" keep-alive"));
                } else if (next instanceof Delivery.Event e) {
                    EventLog event = e.event();
                    // a late event has a lower id than one already sent: no SSE id, the resume point stays
                    emitter.send((e.late() ? SseEmitter.event() : SseEmitter.event().id(Long.toString(event.id())))
                            .name(event.type().apiName()).data(json.writeValueAsString(view(event))));
                } else if (next instanceof Delivery.Gap gap) {
                    emitter.send(SseEmitter.event().id(Long.toString(gap.prunedThroughId())).name(GAP)
                            .data(json.writeValueAsString(new GapResponse(gap.lastEventId(), gap.prunedThroughId()))));
                } else if (next instanceof Delivery.Closed closed) {
                    emitter.send(SseEmitter.event().comment(" closing: " + closed.reason()));
                    emitter.complete();
                    return;
                }
            }
        } catch (IOException | IllegalStateException gone) {
            emitter.completeWithError(gone);   // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            emitter.complete();
        }
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
