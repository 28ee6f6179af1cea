package io.ferry.channel;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/**
 * What a worker knows of one job ({@code GET /v1/migrations/{jobId}}): the facts a control
 * plane that takes a job over (or starts again) settles it from. A worker process knows only
 * the jobs it took part in since it started.
 */
public enum MigrationKnowledge {
    /** Destination: prepared, waiting for the stream. */
    EXPECTED("expected"),
    /** Destination: the stream is coming in (or post-copy runs the guest here). */
    RECEIVING("receiving"),
    /** Source: the migration runs here. */
    SENDING("sending"),
    /** Source: it ended here and the destination took the guest over. */
    HANDED_OVER("handed-over"),
    /** Source: it ended here and the guest stayed (failed or cancelled). */
    ENDED("ended"),
    /** This worker process never took part in the job. */
    UNKNOWN("unknown");

    private final String wireName;

    MigrationKnowledge(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    @JsonCreator
    public static MigrationKnowledge fromWireName(String name) {
        return Arrays.stream(values()).filter(k -> k.wireName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown migration knowledge '" + name + "'"));
    }
}
