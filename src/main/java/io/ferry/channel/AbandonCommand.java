package io.ferry.channel;

import java.util.List;

/**
 * Control plane → the worker of the side an admin chose to keep: end a {@code postcopy-paused}
 * migration whose other side's worker is gone. Sent after the control plane moved every disk of
 * the job to ACTIVE on this host by compare-and-set and marked the job failed; {@code disks} are
 * the generations it granted there (this host's fencing tokens from now on). {@code reason} is
 * the admin's, for the log.
 */
public record AbandonCommand(String reason, List<DiskGeneration> disks) {
}
