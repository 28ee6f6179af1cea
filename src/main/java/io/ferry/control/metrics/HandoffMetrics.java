package io.ferry.control.metrics;

import io.ferry.channel.HandoffStep;
import io.ferry.control.ownership.OwnershipConflictException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.stereotype.Component;

/**
 * How long the control plane takes to answer each disk hand-off step (the guest is paused
 * while it waits for handoff and activate), by step and outcome: granted, refused (another
 * step won), raced (retry), error.
 */
@Component
public class HandoffMetrics {

    /** A step is a few database round trips: milliseconds; seconds mean trouble (the worker gives up at 10 s). */
    private static final Duration[] BUCKETS = {
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
            Duration.ofSeconds(10)};
    private static final List<HandoffStep> STEPS = List.of(HandoffStep.values());

    private final MeterRegistry meters;

    HandoffMetrics(MeterRegistry meters) {
        this.meters = meters;
        STEPS.forEach(step -> timer(step, "granted"));   // every step's series exists before its first use
    }

    /** Runs {@code step} and records how long it took and how it ended; its result or exception passes through. */
    public <T> T time(HandoffStep step, Supplier<T> action) {
        long start = System.nanoTime();
        String outcome = "error";
        try {
            T result = action.get();
            outcome = "granted";
            return result;
        } catch (OwnershipConflictException refused) {
            outcome = "refused";
            throw refused;
        } catch (OptimisticLockingFailureException raced) {
            outcome = "raced";
            throw raced;
        } finally {
            timer(step, outcome).record(Duration.ofNanos(System.nanoTime() - start));
        }
    }

    private Timer timer(HandoffStep step, String outcome) {
        return Timer.builder("ferry.handoff.step")
                .description("time the control plane took to answer a disk hand-off step, by step and outcome")
                .tags("step", step.wireName(), "outcome", outcome)
                .serviceLevelObjectives(BUCKETS)
                .register(meters);
    }
}
