package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.ControlChannel;
import io.ferry.migration.FaultInjector;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control channel's one open door: {@code GET /metrics} needs no token; nothing else is open. */
class ControlChannelHandlerTest {

    @TempDir
    Path datastore;

    private GuestHost guests;
    private WorkerMetrics metrics;
    private ControlCommands commands;

    @BeforeEach
    void setUp() {
        guests = new GuestHost(datastore, "test-instance");
        metrics = new WorkerMetrics("host-a");
        Migrations migrations = new Migrations("host-a", guests, null, report -> { }, null, FaultInjector.none(),
                Duration.ofSeconds(1), metrics);
        commands = new ControlCommands("host-a", "test-instance", guests, migrations, null);
    }

    @AfterEach
    void tearDown() {
        guests.close();
    }

    /** One request on a connection of its own (a refused one is closed). */
    private FullHttpResponse send(HttpMethod method, String uri, String token) {
        EmbeddedChannel channel = new EmbeddedChannel(new ControlChannelHandler("secret", false, commands, metrics,
                Runnable::run));
        DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri);
        if (token != null) {
            request.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
        }
        channel.writeInbound(request);
        FullHttpResponse response = channel.readOutbound();
        assertThat(response).isNotNull();
        channel.finishAndReleaseAll();
        return response;
    }

    @Test
    void metricsNeedNoTokenAndAreThePrometheusTextFormat() {
        FullHttpResponse response = send(HttpMethod.GET, "/metrics", null);
        try {
            assertThat(response.status().code()).isEqualTo(200);
            assertThat(response.headers().get(HttpHeaderNames.CONTENT_TYPE)).startsWith("text/plain; version=0.0.4");
            String body = response.content().toString(StandardCharsets.UTF_8);
            assertThat(body).contains("# TYPE ferry_migration_sent_bytes_total counter",
                    "ferry_postcopy_fault_latency_seconds_bucket", "host=\"host-a\"");
        } finally {
            response.release();
        }
    }

    @Test
    void everythingElseStillNeedsTheToken() {
        for (FullHttpResponse response : new FullHttpResponse[] {
                send(HttpMethod.POST, "/metrics", null),
                send(HttpMethod.GET, ControlChannel.STATUS, null),
                send(HttpMethod.GET, "/metrics/../" + ControlChannel.STATUS, null),
                send(HttpMethod.GET, ControlChannel.STATUS, "wrong")}) {
            try {
                assertThat(response.status().code()).isEqualTo(401);
            } finally {
                response.release();
            }
        }
    }

    /** Issue 12: a refused request's query string (which may hold a credential) never reaches the log. */
    @Test
    void aRefusedRequestIsLoggedWithoutItsQueryString() {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger(ControlChannelHandler.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender =
                new ch.qos.logback.core.read.ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            send(HttpMethod.GET, ControlChannel.STATUS + "?token=hunter2&x=1", "wrong").release();
            send(HttpMethod.POST, "/guests?access_token=hunter2", null).release();
        } finally {
            logger.detachAppender(appender);
        }
        assertThat(appender.list).hasSize(2);
        assertThat(appender.list).allSatisfy(event -> {
            assertThat(event.getFormattedMessage()).contains("refused").doesNotContain("hunter2").doesNotContain("?");
        });
        assertThat(appender.list.get(0).getFormattedMessage()).contains(ControlChannel.STATUS);
    }
}
