package io.ferry.channel;

import java.time.Instant;
import java.util.UUID;

/**
 * Worker → control plane: a guest's dirty-page rate, measured by sampling (QEMU's
 * {@code calc-dirty-rate}). {@code dirtyPagesPerSecond} counts <em>distinct</em> pages changed
 * within the window, per second: what a pre-copy round of that length would have to send again,
 * not how often the guest writes (a page written twice counts once, so a guest writing a small
 * hot set measures at most that set per window). It is estimated per RAM block as
 * {@code changed / sampled × pages} and summed, over {@code measuredWindowMs} (the time between
 * the two hashing passes; {@code windowMs} is what was asked). A paused guest measures 0.
 * {@code zeroPageFraction}: the share of memory all zero at the end (estimated from the same
 * sample), which pre-copy's first round sends as one byte a page.
 */
public record DirtyRateReport(UUID guestId, long windowMs, double measuredWindowMs, int samplePagesPerGiB,
                              long sampledPages, long changedPages, long totalPages, double dirtyPagesPerSecond,
                              double dirtyBytesPerSecond, double zeroPageFraction, String guestState,
                              Instant measuredAt) {
}
