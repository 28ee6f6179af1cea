package io.ferry.channel;

/** What the synthetic guest's workload writes: pages and disk blocks per second, hot-set fraction, seed. */
public record WorkloadSettings(long dirtyPagesPerSecond, double hotSetFraction, long diskWritesPerSecond, long seed) {
}
