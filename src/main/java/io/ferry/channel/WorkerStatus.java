package io.ferry.channel;

import java.util.List;

/**
 * Worker's answer to {@link ControlChannel#STATUS}: who it is, what it hosts, and the fence of
 * every disk image it has open (so anyone can sample that no two hosts hold one image active).
 */
public record WorkerStatus(String hostId, String workerInstance, String dataAddress, long pid,
                           List<GuestReport> guests, List<DiskFence> disks) {

    /** {@code activeGeneration} 0 means open but inactive. */
    public record DiskFence(java.util.UUID guestId, java.util.UUID diskId, long activeGeneration) {
    }
}
