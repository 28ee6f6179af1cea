package io.ferry.control.events;

import java.time.Clock;
import java.time.Instant;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;
import tools.jackson.databind.json.JsonMapper;

/**
 * Appends an event to the log in the caller's transaction: the event commits with the change
 * it describes or not at all. The feature rooms call it where their rows change.
 */
@Component
public class EventRecorder {

    private final EventLogRepository log;
    private final JsonMapper json;
    private final Clock clock;

    EventRecorder(EventLogRepository log, JsonMapper json, Clock clock) {
        this.log = log;
        this.json = json;
        this.clock = clock;
    }

    @Transactional
    public void record(EventPayload event) {
        record(event, clock.instant());
    }

    @Transactional
    public void record(EventPayload event, Instant at) {
        log.save(new EventLog(event, at, json.writeValueAsString(event)));
    }
}
