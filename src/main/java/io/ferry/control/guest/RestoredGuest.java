package io.ferry.control.guest;

import java.util.Map;

/**
 * A validated request for a guest restored from a saved file ({@code restoreFrom}, relative to
 * the host's datastore): its memory, disks and device state come from the file.
 */
public record RestoredGuest(String name, String hostId, String restoreFrom, Workload workload,
                            Map<String, String> labels) {
}
