package io.ferry.control.console;

import io.ferry.control.guest.Disk;
import io.ferry.control.guest.GuestService;
import io.ferry.control.ownership.OwnershipService;
import java.util.UUID;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;

/** A disk's ownership record with its full history. */
@Controller
class RulePages {

    private final GuestService guests;
    private final OwnershipService ownership;

    RulePages(GuestService guests, OwnershipService ownership) {
        this.guests = guests;
        this.ownership = ownership;
    }

    @GetMapping("/console/disks/{diskId}")
    String disk(@PathVariable UUID diskId, Model model) {
        Disk disk = guests.disk(diskId);
        model.addAttribute("disk", disk);
        model.addAttribute("guest", guests.find(disk.guestId()).orElse(null));
        model.addAttribute("now", ownership.find(diskId).orElseThrow());
        model.addAttribute("history", ownership.history(diskId));
        return "console/disk";
    }
}
