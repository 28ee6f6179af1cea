package io.ferry.control.api;

import io.ferry.control.api.GuestRequests.CreateGuest;
import io.ferry.control.api.GuestRequests.WorkloadBody;
import io.ferry.control.guest.GuestLayout;
import io.ferry.control.guest.RestoredGuest;
import io.ferry.control.guest.Workload;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /api/v1/guests} with {@code restoreFrom}: the checks beyond the schema. The RAM
 * blocks, disks and device state come from the file, so the fields that would give them are
 * refused; the file is named relative to the host's datastore, so absolute paths and {@code ..}
 * are refused. Without {@code restoreFrom}, {@code memoryBytes} is required.
 */
final class RestoreRequests {

    private RestoreRequests() {
    }

    /** @throws InvalidRequestException (400) naming the field that the body's kind of creation cannot have or lacks */
    static void checkFields(CreateGuest body) {
        if (body.restoreFrom() == null) {
            if (body.memoryBytes() == null) {
                throw new InvalidRequestException("memoryBytes", "must not be null (unless the guest is restored "
                        + "from a file: restoreFrom)");
            }
            return;
        }
        List<String> present = new ArrayList<>();
        if (body.memoryBytes() != null) {
            present.add("memoryBytes");
        }
        if (body.ramBlocks() != null) {
            present.add("ramBlocks");
        }
        if (body.disks() != null) {
            present.add("disks");
        }
        if (body.deviceStateBytes() != null) {
            present.add("deviceStateBytes");
        }
        if (body.runtime() != null && body.guestRuntime() != io.ferry.channel.GuestRuntime.SYNTHETIC) {
            present.add("runtime");
        }
        if (!present.isEmpty()) {
            throw new InvalidRequestException(present.get(0), "must be left out with restoreFrom (so must "
                    + String.join(", ", present) + "): a restored guest's RAM blocks, disks and device state come "
                    + "from the file");
        }
        String path = body.restoreFrom();
        if (path.isBlank()) {
            throw new InvalidRequestException("restoreFrom", "must name a file in the host's datastore, e.g. saves/<file>");
        }
        if (path.startsWith("/") || path.startsWith("\\") || path.matches("^[A-Za-z]:.*")) {
            throw new InvalidRequestException("restoreFrom", "must be relative to the host's datastore, not absolute");
        }
        for (String part : path.split("[/\\\\]")) {
            if (part.equals("..")) {
                throw new InvalidRequestException("restoreFrom", "must not leave the host's datastore (..)");
            }
        }
        if (path.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new InvalidRequestException("restoreFrom", "must not hold control characters");
        }
    }

    /** The restore the body asks for; call {@link #checkFields} first. */
    static RestoredGuest restoredGuest(CreateGuest body) {
        WorkloadBody w = body.workload();
        Workload workload = w == null ? GuestLayout.workload(null, null, null, null)
                : GuestLayout.workload(w.dirtyPagesPerSecond(), w.hotSetFraction(), w.diskWritesPerSecond(), w.seed());
        return new RestoredGuest(body.name(), body.hostId(), body.restoreFrom(), workload,
                Requests.labels("labels", body.labels()));
    }
}
