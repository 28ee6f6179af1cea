package io.ferry.control.console;

import io.ferry.control.events.Delivery;
import io.ferry.control.events.EventFeed;
import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventLog;
import io.ferry.control.events.EventType;
import io.ferry.control.events.Subscription;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseBody;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.json.JsonMapper;

/**
 * The event stream of the API ({@link EventFeed}) for a signed-in console page: the browser's
 * EventSource cannot send a bearer token, so the console has its own door to the same feed,
 * behind its session. Each page subscribes to what it shows (a job, a host, a guest); htmx
 * re-renders the page's live part on the event names it listens to, and the job page's charts
 * take each {@code job-progress} event's figures.
 */
@Controller
class ConsoleEvents {

    private final EventFeed feed;
    private final JsonMapper json;
    private final Duration heartbeat;
    private final AtomicInteger threads = new AtomicInteger();
    private final ExecutorService senders = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "console-sse-" + threads.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    ConsoleEvents(EventFeed feed, JsonMapper json, @Value("${ferry.events.heartbeat:15s}") Duration heartbeat) {
        this.feed = feed;
        this.json = json;
        this.heartbeat = heartbeat;
    }

    @PreDestroy
    void stop() {
        senders.shutdownNow();
    }

    @GetMapping(path = "/console/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    @ResponseBody
    SseEmitter stream(@RequestParam(required = false) UUID job, @RequestParam(required = false) UUID guest,
                      @RequestParam(required = false) String host) {
        if (host != null && !host.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            throw new IllegalArgumentException("host: '" + host + "' is not a host id");
        }
        SseEmitter emitter = new SseEmitter(0L);
        Set<EventType> all = EnumSet.noneOf(EventType.class);
        Subscription subscription = feed.subscribe(new EventFilter(all, job, guest, host), null);
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
                    Map<String, Object> data = new LinkedHashMap<>();
                    data.put("id", event.id());
                    data.put("at", event.at().toString());
                    data.put("jobId", event.jobId());
                    data.put("hostId", event.hostId());
                    data.put("payload", json.readTree(event.payload()));
                    // a late event has a lower id than one already sent: no SSE id, the resume point stays
                    emitter.send((e.late() ? SseEmitter.event() : SseEmitter.event().id(Long.toString(event.id())))
                            .name(event.type().apiName()).data(json.writeValueAsString(data)));
                } else if (next instanceof Delivery.Closed) {
                    emitter.complete();
                    return;
                }
                // a gap cannot happen: a console stream starts now and never resumes from an id
            }
        } catch (IOException | IllegalStateException gone) {
            emitter.completeWithError(gone);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            emitter.complete();
        }
    }
}
