package io.ferry.channel;

/**
 * Control plane → source worker: new limits, honoured from the next rate window / iteration; and
 * {@code autoConverge} switched on (an escalation step: refused once pre-copy is over) or off,
 * null to leave it as it is.
 */
public record TuneMigrationCommand(long maxBandwidth, long downtimeLimitMs, Boolean autoConverge) {
}
