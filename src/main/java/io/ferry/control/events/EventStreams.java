package io.ferry.control.events;

import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Server-sent event streams of the {@link EventFeed}, for the API and the console alike: one
 * sender thread per stream writes each event (its {@code data:} as {@code view} shapes it), a
 * {@code gap} when events after the client's last id expired, a keep-alive comment every
 * heartbeat, and ends the stream when the feed closes it or the client goes away.
 */
@Component
public class EventStreams {

    /** The event name of a gap: its data is {@link GapResponse}. */
    public static final String GAP = "gap";

    /** The {@code data:} of a {@code gap} event: the events after lastEventId through prunedThroughId expired. */
    public record GapResponse(long lastEventId, long prunedThroughId) {
    }

    private final EventFeed feed;
    private final JsonMapper json;
    private final Duration heartbeat;
    private final AtomicInteger threads = new AtomicInteger();
    private final ExecutorService senders = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sse-sender-" + threads.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    EventStreams(EventFeed feed, JsonMapper json, @Value("${ferry.events.heartbeat:15s}") Duration heartbeat) {
        this.feed = feed;
        this.json = json;
        this.heartbeat = heartbeat;
    }

    @PreDestroy
    void stop() {
        senders.shutdownNow();
    }

    /** A stream of the events {@code filter} selects, after event {@code after} (null: from now on). */
    public SseEmitter open(EventFilter filter, Long after, Function<EventLog, Object> view) {
        SseEmitter emitter = new SseEmitter(0L);   // no timeout: the stream lasts until either side ends it
        Subscription subscription = feed.subscribe(filter, after);
        emitter.onCompletion(subscription::close);
        emitter.onTimeout(subscription::close);
        emitter.onError(e -> subscription.close());
        senders.execute(() -> pump(subscription, emitter, view));
        return emitter;
    }

    private void pump(Subscription subscription, SseEmitter emitter, Function<EventLog, Object> view) {
        try (subscription) {
            emitter.send(SseEmitter.event().reconnectTime(2000).comment(" connected"));
            while (true) {
                Delivery next = subscription.next(heartbeat);
                if (next == null) {
                    emitter.send(SseEmitter.event().comment(" keep-alive"));
                } else if (next instanceof Delivery.Event e) {
                    EventLog event = e.event();
                    emitter.send(SseEmitter.event().id(Long.toString(event.id())).name(event.type().apiName())
                            .data(json.writeValueAsString(view.apply(event))));
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
}
