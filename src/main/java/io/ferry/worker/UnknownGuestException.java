package io.ferry.worker;

import java.util.UUID;

/** This worker does not host the guest a command names. */
final class UnknownGuestException extends RuntimeException {

    UnknownGuestException(UUID guestId) {
        super("guest " + guestId + " is not on this worker");
    }
}
