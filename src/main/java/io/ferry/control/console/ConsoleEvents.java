package io.ferry.control.console;

import io.ferry.control.events.EventFilter;
import io.ferry.control.events.EventStreams;
import io.ferry.control.events.EventType;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
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

    private final EventStreams streams;
    private final JsonMapper json;

    ConsoleEvents(EventStreams streams, JsonMapper json) {
        this.streams = streams;
        this.json = json;
    }

    @GetMapping(path = "/console/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    @ResponseBody
    SseEmitter stream(@RequestParam(required = false) UUID job, @RequestParam(required = false) UUID guest,
                      @RequestParam(required = false) String host) {
        if (host != null && !host.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            throw new IllegalArgumentException("host: '" + host + "' is not a host id");
        }
        return streams.open(new EventFilter(EnumSet.noneOf(EventType.class), job, guest, host), null, event -> {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("id", event.id());
            data.put("at", event.at().toString());
            data.put("jobId", event.jobId());
            data.put("hostId", event.hostId());
            data.put("payload", json.readTree(event.payload()));
            return data;
        });
    }
}
