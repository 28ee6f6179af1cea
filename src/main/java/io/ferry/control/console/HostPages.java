package io.ferry.control.console;

import io.ferry.control.admission.AdmissionService;
import io.ferry.control.admission.Limits;
import io.ferry.control.drain.DrainGuestState;
import io.ferry.control.drain.DrainService;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostNotFoundException;
import io.ferry.control.host.HostService;
import io.ferry.control.job.JobFilter;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobViews;
import java.security.Principal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;

/** The overview (hosts, job counts, latest failures) and a host's page with its drain. */
@Controller
class HostPages {

    private final HostService hosts;
    private final GuestService guests;
    private final AdmissionService admission;
    private final DrainService drains;
    private final JobViews jobs;

    HostPages(HostService hosts, GuestService guests, AdmissionService admission, DrainService drains, JobViews jobs) {
        this.hosts = hosts;
        this.guests = guests;
        this.admission = admission;
        this.drains = drains;
        this.jobs = jobs;
    }

    /** A host's row: memory used, reserved by guests coming in and free; jobs against their limits; its drain. */
    record HostRow(Host host, long allocated, long incoming, long free, int outbound, int maxOutbound, int inbound,
                   int maxInbound, Optional<DrainService.DrainView> drain) {

        public long usedPercent() {
            long cap = host.memoryCapacityBytes();
            return cap == 0 ? 0 : Math.min(100, 100 * allocated / cap);
        }

        public long incomingPercent() {
            long cap = host.memoryCapacityBytes();
            return cap == 0 ? 0 : Math.min(100 - usedPercent(), 100 * incoming / cap);
        }

        public boolean draining() {
            return drain.isPresent() && drain.get().drain().state().apiName().equals("draining");
        }

        public long guestsLeft() {
            return drain.map(d -> d.guests().stream().filter(g -> !g.state().isSettled()).count()).orElse(0L);
        }
    }

    HostRow row(Host h) {
        Limits limits = admission.limits();
        int[] outIn = admission.jobsPerHost().getOrDefault(h.id(), new int[2]);
        long allocated = guests.allocatedMemory(h.id());
        long incoming = admission.reservedIncoming().getOrDefault(h.id(), 0L);
        return new HostRow(h, allocated, incoming, Math.max(0, h.memoryCapacityBytes() - allocated - incoming),
                outIn[0], limits.outboundOf(h.id()), outIn[1], limits.inboundOf(h.id()), drains.current(h.id()));
    }

    @GetMapping("/console")
    String overview(Model model) {
        model.addAttribute("hosts", hosts.list().stream().map(this::row).toList());
        Map<String, Long> counts = new LinkedHashMap<>();
        for (JobStatus s : JobStatus.values()) {
            Long n = jobs.page(new JobFilter(s, null, null), 0, 1).totalItems();
            counts.put(s.apiName(), n == null ? 0 : n);
        }
        model.addAttribute("counts", counts);
        model.addAttribute("limits", admission.limits());
        model.addAttribute("running", jobs.page(JobFilter.ALL, 0, 1).totalItems() - counts.get("queued")
                - terminal(counts));
        model.addAttribute("failures", jobs.list(new JobFilter(JobStatus.FAILED, null, null), null, 8).items());
        return "console/overview";
    }

    private static long terminal(Map<String, Long> counts) {
        long n = 0;
        for (JobStatus s : JobStatus.values()) {
            if (s.isTerminal()) {
                n += counts.get(s.apiName());
            }
        }
        return n;
    }

    @GetMapping("/console/hosts/{hostId}")
    String host(@PathVariable String hostId, Model model) {
        Host h = find(hostId);
        HostRow row = row(h);
        model.addAttribute("row", row);
        model.addAttribute("h", h);
        List<Guest> on = guests.onHost(hostId);
        model.addAttribute("guests", on);
        Map<java.util.UUID, Guest> byId = new TreeMap<>();
        guests.list().forEach(g -> byId.put(g.id(), g));
        model.addAttribute("guestsById", byId);
        model.addAttribute("hostIds", hosts.list().stream().map(Host::id).toList());
        row.drain().ifPresent(d -> {
            model.addAttribute("drain", d);
            model.addAttribute("drainJobs", d.jobs());
            model.addAttribute("unplaceable", d.guests().stream()
                    .filter(g -> g.state() == DrainGuestState.UNPLACEABLE || g.state() == DrainGuestState.FAILED)
                    .toList());
        });
        model.addAttribute("recentJobs", jobs.list(new JobFilter(null, null, hostId), null, 10).items());
        return "console/host";
    }

    @PostMapping("/console/hosts/{hostId}/drain")
    String drain(@PathVariable String hostId, @RequestParam(defaultValue = "") String destinationSelector,
                 @RequestParam(defaultValue = "3") int maxAttempts, Principal principal, Model model) {
        find(hostId);
        if (maxAttempts < 1 || maxAttempts > 10) {
            throw new ConsoleErrors.FormException("maxAttempts", "must be between 1 and 10");
        }
        DrainService.DrainView d = drains.start(hostId, ConsoleForms.labels("destinationSelector", destinationSelector),
                maxAttempts, ConsoleModel.actor(principal));
        model.addAttribute("message", "Draining " + hostId + ": cordoned, " + d.guests().size()
                + " guest(s) to move.");
        return "console/error :: ok";
    }

    @PostMapping("/console/hosts/{hostId}/uncordon")
    String uncordon(@PathVariable String hostId, Principal principal, Model model) {
        find(hostId);
        drains.stop(hostId, ConsoleModel.actor(principal));
        model.addAttribute("message", "Uncordoned " + hostId + ": it takes guests again.");
        return "console/error :: ok";
    }

    private Host find(String hostId) {
        return hosts.find(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
    }

}
