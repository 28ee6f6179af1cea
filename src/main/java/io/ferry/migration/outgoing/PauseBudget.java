package io.ferry.migration.outgoing;

import io.ferry.guest.GuestChecksums;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Everything the guest's pause costs besides the last pages, so the switchover rule counts it:
 * the checksums both hosts take while the guest is still ({@code verifyChecksums}), the disks'
 * last flush and the control plane's round trips of the hand-off (one on each side). Estimated from what this migration measured (flush times, a control-plane round
 * trip) and from the digest rate of this host. Then, during the pause, what each part really took,
 * so a pause over the limit says where the time went.
 *
 * <p>Written by the migration thread only.
 */
final class PauseBudget {

    /** The pause's parts, in the order they happen. */
    enum Part {
        LAST_PAGES("last pages and chunks"),
        HANDOFF("disk hand-off"),
        VERIFICATION("checksums on the source"),
        DEVICE_STATE("device state and end of stream"),
        DESTINATION("destination (load, checks, activation, resume)");

        private final String label;

        Part(String label) {
            this.label = label;
        }
    }

    /** The digest cost now, ns per byte: timed afresh for each estimate, so it sees contended cores. */
    private final java.util.function.DoubleSupplier digestNanosPerByte;
    private long verifyBytes;
    private boolean disks;
    private long lastFlushNanos;
    private long roundTripNanos;
    private final Map<Part, Long> taken = new EnumMap<>(Part.class);
    private long markNanos;

    /** Where the parts' times are read: the monotonic clock. */
    private final java.util.function.LongSupplier nanoClock;

    PauseBudget() {
        this(GuestChecksums::digestNanosPerByte, System::nanoTime);
    }

    PauseBudget(java.util.function.DoubleSupplier digestNanosPerByte, java.util.function.LongSupplier nanoClock) {
        this.digestNanosPerByte = digestNanosPerByte;
        this.nanoClock = nanoClock;
    }

    /** What the pause will hash on each host, 0 without verification. */
    void verifying(long bytes) {
        verifyBytes = bytes;
    }

    /** The guest has disks: the pause includes their last flush and the hand-off's round trips. */
    void withDisks() {
        disks = true;
    }

    /** How long the last flush of the images took, between rounds. */
    void flushed(long nanos) {
        lastFlushNanos = nanos;
    }

    /** One control-plane round trip, as measured. */
    void controlPlaneRoundTrip(long nanos) {
        roundTripNanos = nanos;
    }

    /**
     * The pause's cost besides the pages. (The device state travels with the last pages; a
     * bandwidth measured on a nearly idle link would make its few kilobytes look like seconds.)
     */
    long fixedMs() {
        double ms = 0;
        if (verifyBytes > 0) {
            // both hosts digest everything, one after the other: the destination only once the stream is in
            ms += 2 * verifyBytes * digestNanosPerByte.getAsDouble() / 1e6;
        }
        if (disks) {
            ms += lastFlushNanos / 1e6 + 2 * roundTripNanos / 1e6;
        }
        return (long) Math.ceil(ms);
    }

    /** The pause began: parts are measured from here. */
    void paused() {
        markNanos = nanoClock.getAsLong();
    }

    /** {@code part} is over: the time since the last mark is its. */
    void took(Part part) {
        long now = nanoClock.getAsLong();
        taken.merge(part, now - markNanos, Long::sum);
        markNanos = now;
    }

    /** Where the pause's time went, biggest part first, in ms; for the job when the limit was not kept. */
    String explain() {
        StringJoiner parts = new StringJoiner(", ");
        taken.entrySet().stream()
                .sorted(Map.Entry.<Part, Long>comparingByValue().reversed())
                .forEach(e -> parts.add(String.format(Locale.ROOT, "%s %d ms", e.getKey().label,
                        e.getValue() / 1_000_000)));
        return parts.toString();
    }
}
