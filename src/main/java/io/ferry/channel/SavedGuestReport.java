package io.ferry.channel;

import java.util.UUID;

/**
 * Worker → control plane: the save of a guest, {@code file} relative to the worker's datastore
 * ({@code saves/...}), its size, and the guest's state after it (paused).
 */
public record SavedGuestReport(UUID guestId, String file, SaveFormat format, long bytes, GuestReport guest) {
}
