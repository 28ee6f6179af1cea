package io.ferry.worker;

import io.ferry.migration.TransferMeter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The worker's Prometheus metrics, plain Micrometer (no Spring here), served as text by the
 * control channel's {@code GET /metrics}. Every meter exists from the start, so a dashboard
 * finds each series before the first migration.
 *
 * <p>Figures come from what the engine counts anyway: bytes from the worker's
 * {@link TransferMeter} (read at scrape time), fault latencies from the destination's own
 * record of its post-copy page faults, taken when that migration ends (they are kept in full
 * while it runs; see {@code DemandPaging}).
 */
final class WorkerMetrics {

    /** Post-copy fault waits: a page from a nearby source takes well under a millisecond, a busy link tens. */
    private static final Duration[] FAULT_BUCKETS = {
            Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
            Duration.ofNanos(2_500_000), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofSeconds(5)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final TransferMeter transfers = new TransferMeter();
    private final Timer faultLatency;

    WorkerMetrics(String hostId) {
        registry.config().commonTags("application", "ferry", "host", hostId);
        for (TransferMeter.Kind kind : TransferMeter.Kind.values()) {
            FunctionCounter.builder("ferry.migration.sent", transfers, t -> t.bytes(kind))
                    .baseUnit("bytes").tags(Tags.of("kind", kind.label()))
                    .description("payload bytes outgoing migrations sent, by what they carry")
                    .register(registry);
        }
        FunctionCounter.builder("ferry.migration.stream", transfers, TransferMeter::streamBytes)
                .baseUnit("bytes")
                .description("every byte outgoing migrations wrote to their data-plane connections (payload, "
                        + "record headers, zero pages, framing)")
                .register(registry);
        faultLatency = Timer.builder("ferry.postcopy.fault.latency")
                .description("how long a guest access waited for a missing page during post-copy (destination)")
                .serviceLevelObjectives(FAULT_BUCKETS)
                .minimumExpectedValue(FAULT_BUCKETS[0])
                .maximumExpectedValue(FAULT_BUCKETS[FAULT_BUCKETS.length - 1])
                .register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** Where this worker's outgoing migrations count their bytes. */
    TransferMeter transfers() {
        return transfers;
    }

    /** An incoming migration's post-copy page faults (wait times in nanoseconds), once it has ended. */
    void pageFaults(long[] waitNanos) {
        for (long nanos : waitNanos) {
            faultLatency.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The Prometheus text exposition format (version 0.0.4). */
    String scrape() {
        return registry.scrape();
    }

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
}
