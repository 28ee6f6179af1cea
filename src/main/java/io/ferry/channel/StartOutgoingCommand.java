package io.ferry.channel;

import java.util.UUID;

/**
 * Control plane → source worker: migrate {@code guestId} to the destination's data plane at
 * {@code destinationAddress} (host:port), proving the job with {@code secret} (base64).
 * {@code disks} are the generations the control plane found the guest's disks ACTIVE at on this
 * host when it started the job; {@code storage} ({@code shared} or {@code copy}) says whether
 * their images are streamed too. With {@code postcopy} the job may switch to post-copy: on request,
 * or by itself after {@code postcopyAfterIterations} rounds (0: only on request) or, with
 * {@code postcopyWhenNotConverging}, once a round leaves no less to send than the one before; the background
 * push of post-copy is held to {@code maxPostcopyBandwidth} bytes/s (0: unlimited).
 */
public record StartOutgoingCommand(UUID jobId, UUID guestId, String destinationAddress, String secret,
                                   long maxBandwidth, long downtimeLimitMs, boolean verifyChecksums, String storage,
                                   java.util.List<DiskGeneration> disks, boolean postcopy,
                                   int postcopyAfterIterations, boolean postcopyWhenNotConverging,
                                   long maxPostcopyBandwidth) {
}
