package io.ferry.control.api;

import io.ferry.control.guest.Disk;
import io.ferry.control.guest.GuestService;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipService;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/v1/disks")
class DiskController {

    private final GuestService guests;
    private final OwnershipService ownership;

    DiskController(GuestService guests, OwnershipService ownership) {
        this.guests = guests;
        this.ownership = ownership;
    }

    @GetMapping("/{diskId}")
    DiskResponse get(@PathVariable UUID diskId) {
        Disk disk = guests.disk(diskId);
        return DiskResponse.of(disk, ownershipOf(diskId));
    }

    @GetMapping("/{diskId}/ownership")
    OwnershipResponse ownership(@PathVariable UUID diskId) {
        guests.disk(diskId);
        return OwnershipResponse.of(ownershipOf(diskId), ownership.history(diskId));
    }

    private DiskOwnership ownershipOf(UUID diskId) {
        return ownership.find(diskId).orElseThrow(() -> new IllegalStateException("disk " + diskId
                + " has no ownership record"));
    }
}
