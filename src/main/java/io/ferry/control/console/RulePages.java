package io.ferry.control.console;

import io.ferry.control.admission.AdmissionService;
import io.ferry.control.guest.Disk;
import io.ferry.control.guest.GuestService;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.control.policy.PolicyService;
import java.util.UUID;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;

/** A disk's ownership record with its full history, and the policies and admission limits in force. */
@Controller
class RulePages {

    private final GuestService guests;
    private final OwnershipService ownership;
    private final PolicyService policies;
    private final AdmissionService admission;

    RulePages(GuestService guests, OwnershipService ownership, PolicyService policies, AdmissionService admission) {
        this.guests = guests;
        this.ownership = ownership;
        this.policies = policies;
        this.admission = admission;
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

    @GetMapping("/console/policies")
    String policies(Model model) {
        model.addAttribute("policies", policies.list());
        model.addAttribute("limits", admission.limits());
        return "console/policies";
    }
}
