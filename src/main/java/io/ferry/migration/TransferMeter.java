package io.ferry.migration;

import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes a worker's outgoing migrations hand to their data-plane connections: every byte of the
 * streams ({@link #streamBytes}), and the payload inside them by what it carries ({@link Kind}).
 * One per worker, shared by all its migrations; a metrics scrape reads it while migration
 * threads add to it (each figure is a {@link LongAdder}, so neither waits for the other).
 *
 * <p>The kinds do not overlap, and their sum is less than the stream's bytes: record headers,
 * zero pages, zero disk chunks, discards and the stream's own framing are counted in the stream
 * only. Pages compressed on multifd channels count as their compressed bytes: what the link
 * carried.
 */
public final class TransferMeter {

    /** What a payload byte carries; {@link #label} is its name in metrics. */
    public enum Kind {
        /** Guest pages pushed by pre-copy rounds, the switchover, and post-copy's background push. */
        RAM("ram"),
        /** Guest pages the destination asked for during post-copy (its page faults), on whichever channel. */
        POSTCOPY_REQUESTED("postcopy-requested"),
        /** Disk image data of block migration ({@code storage: copy}); all-zero chunks go as a record without data. */
        DISK("disk"),
        /** The guest's device state, each time it is sent (a post-copy recovery sends it again). */
        DEVICE_STATE("device-state");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final LongAdder[] payload = new LongAdder[Kind.values().length];
    private final LongAdder stream = new LongAdder();

    public TransferMeter() {
        for (int i = 0; i < payload.length; i++) {
            payload[i] = new LongAdder();
        }
    }

    public void payload(Kind kind, long bytes) {
        payload[kind.ordinal()].add(bytes);
    }

    public void stream(long bytes) {
        stream.add(bytes);
    }

    /** Payload bytes of {@code kind} sent so far. */
    public long bytes(Kind kind) {
        return payload[kind.ordinal()].sum();
    }

    /** Every byte written to the data-plane connections so far. */
    public long streamBytes() {
        return stream.sum();
    }
}
