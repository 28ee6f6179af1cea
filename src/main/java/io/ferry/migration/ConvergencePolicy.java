package io.ferry.migration;

/**
 * QEMU's switchover rule as a pure function: switch over once the bytes still to send fit in
 * the downtime limit at the bandwidth just measured,
 * {@code pending ≤ bandwidth (bytes/ms) × downtime-limit (ms)}.
 */
public final class ConvergencePolicy {

    private ConvergencePolicy() {
    }

    public static long thresholdBytes(double bytesPerMs, long downtimeLimitMs) {
        return (long) (bytesPerMs * downtimeLimitMs);
    }

    /** The bulk round must be over: before it, nothing is known about what the guest dirties. */
    public static boolean canSwitchOver(boolean bulkDone, long pendingBytes, double bytesPerMs, long downtimeLimitMs) {
        return bulkDone && pendingBytes <= thresholdBytes(bytesPerMs, downtimeLimitMs);
    }

    /**
     * The estimate that pre-copy will not converge: a round after the bulk one left at least as
     * much to send as the round before it, so the guest dirties memory as fast as the link
     * carries it (more rounds only repeat that).
     */
    public static boolean willNotConverge(int iterations, long previousPendingBytes, long pendingBytes,
                                          double bytesPerMs, long downtimeLimitMs) {
        return iterations >= 2 && pendingBytes >= previousPendingBytes
                && !canSwitchOver(true, pendingBytes, bytesPerMs, downtimeLimitMs);
    }

    /**
     * What of the downtime limit is left for the last pages once the pause's fixed part
     * ({@code fixedMs}: checksums, hand-off, device state) is counted; never less than a tenth of
     * the limit, so a fixed part that alone overruns the limit still lets the pages' part shrink to
     * little before the switch, instead of never switching.
     */
    public static long pagesBudgetMs(long downtimeLimitMs, long fixedMs) {
        return Math.max(downtimeLimitMs - fixedMs, downtimeLimitMs / 10);
    }

    /** What stopping now would cost; unbounded (Long.MAX_VALUE) while nothing was measured. */
    public static long expectedDowntimeMs(long pendingBytes, double bytesPerMs) {
        if (pendingBytes == 0) {
            return 0;
        }
        return bytesPerMs <= 0 ? Long.MAX_VALUE : (long) Math.ceil(pendingBytes / bytesPerMs);
    }
}
