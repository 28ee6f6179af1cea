package io.ferry.channel;

import java.util.List;
import java.util.UUID;

/**
 * Control plane → source worker: migrate {@code guestId} to the destination's data plane at
 * {@code destinationAddress} (host:port), proving the job with {@code secret} (base64).
 * {@code disks} are the generations the control plane found the guest's disks ACTIVE at on this
 * host when it started the job; {@code settings} say how (bandwidth, downtime limit,
 * verification, storage, post-copy).
 */
public record StartOutgoingCommand(UUID jobId, UUID guestId, String destinationAddress, String secret,
                                   List<DiskGeneration> disks, MigrationSettings settings) {
}
