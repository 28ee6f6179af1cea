package io.ferry.control.guest;

import io.ferry.channel.SaveFormat;
import java.util.UUID;

/** A guest's save: the file (relative to its host's datastore), its format and size. */
public record SavedGuest(UUID guestId, String hostId, String file, SaveFormat format, long bytes) {
}
