package io.ferry.channel;

import java.util.UUID;

/**
 * Control plane → source worker: migrate {@code guestId} to the destination's data plane at
 * {@code destinationAddress} (host:port), proving the job with {@code secret} (base64).
 */
public record StartOutgoingCommand(UUID jobId, UUID guestId, String destinationAddress, String secret,
                                   long maxBandwidth, long downtimeLimitMs, boolean verifyChecksums) {
}
