package io.ferry.control.preflight;

/**
 * What pre-copy will do with a guest, predicted from its measured dirty rate and the link's
 * bandwidth by replaying QEMU's rounds: the first round sends everything the job moves (the
 * memory that is not zero — a zero page costs next to nothing —, and the images with
 * {@code storage: copy}); each next round sends
 * what was dirtied while the last one ran (at most all memory); the switchover comes when what
 * is left fits the downtime limit. When a round leaves no less than the one before, pre-copy
 * will not converge: post-copy finishes it (its downtime is the device state only) if the job
 * may use it. A pure function (see ConvergenceForecastTest).
 */
public final class ConvergenceForecast {

    /** QEMU gives up on no round count; past this many the forecast calls it not converging. */
    static final int MAX_ROUNDS = 30;

    public enum Verdict {
        CONVERGES("converges"),
        NEEDS_POSTCOPY("needs-postcopy"),
        WILL_NOT_CONVERGE("will-not-converge");

        private final String apiName;

        Verdict(String apiName) {
            this.apiName = apiName;
        }

        public String apiName() {
            return apiName;
        }
    }

    /** Times in milliseconds; {@code rounds} counts pre-copy rounds before the switch (or the give-up). */
    public record Prediction(Verdict verdict, long totalTimeMs, long downtimeMs, int rounds) {
    }

    private ConvergenceForecast() {
    }

    public static Prediction predict(long memoryBytes, long diskBytes, double zeroFraction,
                                     double dirtyBytesPerSecond, double bandwidthBytesPerSecond,
                                     long downtimeLimitMs, boolean postcopyAllowed) {
        return predict(memoryBytes, diskBytes, zeroFraction, dirtyBytesPerSecond, bandwidthBytesPerSecond,
                downtimeLimitMs, postcopyAllowed, 0);
    }

    /**
     * As above, with the fixed cost of a switchover ({@code switchoverMs}: pausing, device state,
     * the disks' hand-off, starting the guest on the destination) added to downtime and total.
     */
    public static Prediction predict(long memoryBytes, long diskBytes, double zeroFraction,
                                     double dirtyBytesPerSecond, double bandwidthBytesPerSecond,
                                     long downtimeLimitMs, boolean postcopyAllowed, long switchoverMs) {
        Prediction p = replay(memoryBytes, diskBytes, zeroFraction, dirtyBytesPerSecond, bandwidthBytesPerSecond,
                downtimeLimitMs, postcopyAllowed);
        if (p.verdict() == Verdict.WILL_NOT_CONVERGE) {
            return p;
        }
        return new Prediction(p.verdict(), p.totalTimeMs() + switchoverMs, p.downtimeMs() + switchoverMs, p.rounds());
    }

    private static Prediction replay(long memoryBytes, long diskBytes, double zeroFraction,
                                     double dirtyBytesPerSecond, double bandwidthBytesPerSecond,
                                     long downtimeLimitMs, boolean postcopyAllowed) {
        if (bandwidthBytesPerSecond <= 0) {
            throw new IllegalArgumentException("bandwidth must be positive");
        }
        double limitSeconds = downtimeLimitMs / 1000.0;
        // what this round sends: first everything but the zero pages
        double remaining = memoryBytes * (1 - Math.max(0, Math.min(1, zeroFraction))) + diskBytes;
        double elapsed = 0;
        for (int round = 1; round <= MAX_ROUNDS; round++) {
            double seconds = remaining / bandwidthBytesPerSecond;
            elapsed += seconds;
            double dirtied = Math.min(dirtyBytesPerSecond * seconds, memoryBytes);
            double last = dirtied / bandwidthBytesPerSecond;
            if (last <= limitSeconds) {
                return new Prediction(Verdict.CONVERGES, ms(elapsed + last), ms(last), round);
            }
            if (round > 1 && dirtied >= remaining) {
                return notConverging(elapsed, dirtied, bandwidthBytesPerSecond, postcopyAllowed, round);
            }
            remaining = dirtied;
        }
        return notConverging(elapsed, remaining, bandwidthBytesPerSecond, postcopyAllowed, MAX_ROUNDS);
    }

    private static Prediction notConverging(double elapsed, double remaining, double bandwidth, boolean postcopy,
                                            int rounds) {
        if (!postcopy) {
            return new Prediction(Verdict.WILL_NOT_CONVERGE, -1, -1, rounds);
        }
        // post-copy: the guest runs on the destination at once; the rest arrives at link speed
        return new Prediction(Verdict.NEEDS_POSTCOPY, ms(elapsed + remaining / bandwidth), 0, rounds);
    }

    private static long ms(double seconds) {
        return Math.round(seconds * 1000);
    }
}
