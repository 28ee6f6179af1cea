package io.ferry.channel;

/**
 * Control plane → source worker: new limits, honoured from the next rate window / iteration;
 * {@code autoConverge} true turns auto-converge on (null: unchanged; it is never turned off mid-job).
 */
public record TuneMigrationCommand(long maxBandwidth, long downtimeLimitMs, Boolean autoConverge) {
}
