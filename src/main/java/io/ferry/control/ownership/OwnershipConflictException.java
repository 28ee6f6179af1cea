package io.ferry.control.ownership;

import java.util.UUID;

/** A hand-off step found the disk in another generation or state than the caller expected. */
public class OwnershipConflictException extends RuntimeException {

    public OwnershipConflictException(UUID diskId, String detail) {
        super("disk " + diskId + ": " + detail);
    }
}
