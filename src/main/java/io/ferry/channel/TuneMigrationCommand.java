package io.ferry.channel;

/** Control plane → source worker: new limits, honoured from the next rate window / iteration. */
public record TuneMigrationCommand(long maxBandwidth, long downtimeLimitMs) {
}
