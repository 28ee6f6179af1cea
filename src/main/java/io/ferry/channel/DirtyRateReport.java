package io.ferry.channel;

import java.time.Instant;
import java.util.UUID;

/**
 * Worker → control plane: a guest's dirty-page rate, measured in {@code mode} (QEMU's
 * {@code calc-dirty-rate}). {@code dirtyPagesPerSecond} counts <em>distinct</em> pages changed
 * within the window, per second: what a pre-copy round of that length would have to send again,
 * not how often the guest writes (a page written twice counts once, so a guest writing a small
 * hot set measures at most that set per window). Page sampling estimates it per RAM block as
 * {@code changed / sampled × pages} and sums; dirty-bitmap counts it in a dirty log of its own.
 * Either is over {@code measuredWindowMs} ({@code windowMs} is what was asked). A paused guest
 * measures 0. {@code zeroPageFraction}: the share of memory all zero at the end (estimated from
 * the sample in both modes), which pre-copy's first round sends as one byte a page.
 */
public record DirtyRateReport(UUID guestId, DirtyRateMode mode, long windowMs, double measuredWindowMs,
                              int samplePagesPerGiB, long sampledPages, long changedPages, long totalPages,
                              double dirtyPagesPerSecond, double dirtyBytesPerSecond, double zeroPageFraction,
                              String guestState, Instant measuredAt) {
}
