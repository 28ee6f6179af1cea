package io.ferry.control.api;

import io.ferry.channel.SaveFormat;
import io.ferry.control.guest.SavedGuest;
import java.util.UUID;

/** A guest's save: the file, relative to its host's datastore ({@code saves/...}), its format and size. */
record SaveResponse(String file, SaveFormat format, long bytes, UUID guestId, String hostId) {

    static SaveResponse of(SavedGuest saved) {
        return new SaveResponse(saved.file(), saved.format(), saved.bytes(), saved.guestId(), saved.hostId());
    }
}
