package io.ferry.control.console;

import io.ferry.control.guest.Disk;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestLayout;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.NewGuest;
import io.ferry.control.guest.RamBlock;
import io.ferry.control.guest.Workload;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.job.JobFilter;
import io.ferry.control.job.JobViews;
import io.ferry.control.job.MigrationCommands;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.NewMigration;
import io.ferry.control.job.RequestedParameters;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.control.preflight.PreflightService;
import jakarta.servlet.http.HttpServletResponse;
import java.security.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;

/**
 * Guests: the list with its filter and the create form, a guest's page (state, disks and their
 * owners, checksums, pause and resume) and its Migrate dialog: pre-flight first, then the job.
 */
@Controller
class GuestPages {

    private final GuestService guests;
    private final HostService hosts;
    private final OwnershipService ownership;
    private final JobViews jobs;
    private final MigrationCommands commands;
    private final PreflightService preflight;

    GuestPages(GuestService guests, HostService hosts, OwnershipService ownership, JobViews jobs,
               MigrationCommands commands, PreflightService preflight) {
        this.guests = guests;
        this.hosts = hosts;
        this.ownership = ownership;
        this.jobs = jobs;
        this.commands = commands;
        this.preflight = preflight;
    }

    @GetMapping("/console/guests")
    String list(@RequestParam(defaultValue = "") String q, @RequestParam(defaultValue = "") String host,
                @RequestParam(defaultValue = "") String state, Model model) {
        String needle = q.strip().toLowerCase(Locale.ROOT);
        List<Guest> shown = guests.list().stream()
                .filter(g -> needle.isEmpty() || g.name().toLowerCase(Locale.ROOT).contains(needle)
                        || g.id().toString().startsWith(needle)
                        || g.labels().entrySet().stream().anyMatch(e -> (e.getKey() + "=" + e.getValue()).contains(needle)))
                .filter(g -> host.isBlank() || g.hostId().equals(host))
                .filter(g -> state.isBlank() || g.state().apiName().equals(state))
                .toList();
        model.addAttribute("guests", shown);
        model.addAttribute("q", q);
        model.addAttribute("host", host);
        model.addAttribute("state", state);
        model.addAttribute("hostIds", hosts.list().stream().map(Host::id).toList());
        model.addAttribute("states", List.of("running", "paused", "migrating-out", "incoming", "lost"));
        return "console/guests";
    }

    @PostMapping("/console/guests")
    String create(@RequestParam Map<String, String> form, Principal principal, HttpServletResponse response,
                  @RequestHeader(name = "HX-Request", required = false) String htmx, Model model) {
        Guest guest = guests.create(newGuest(form), null, ConsoleModel.actor(principal));
        return goTo("/console/guests/" + guest.id(), "Created guest " + guest.name() + ".", htmx, response, model);
    }

    /**
     * After an action that made something: htmx goes to its page (HX-Redirect on a 200: a 302
     * would be followed inside the request and its page swapped in), a plain form is redirected.
     */
    static String goTo(String path, String message, String htmx, HttpServletResponse response, Model model) {
        if (htmx == null) {
            return "redirect:" + path;
        }
        response.setHeader("HX-Redirect", path);
        model.addAttribute("message", message);
        return "console/error :: ok";
    }

    /**
     * The form as a new guest. The console only reads the typed text (sizes with binary units,
     * numbers); what a guest may look like, and its defaults, are the guest package's
     * ({@link GuestLayout}), as for the API.
     */
    static NewGuest newGuest(Map<String, String> form) {
        String name = form.getOrDefault("name", "").strip();
        if (name.isEmpty() || name.length() > 255) {
            throw new ConsoleErrors.FormException("name", "give the guest a name (at most 255 characters)");
        }
        String hostId = form.getOrDefault("hostId", "").strip();
        if (hostId.isEmpty()) {
            throw new ConsoleErrors.FormException("hostId", "choose a host");
        }
        Long memory = ConsoleForms.size("memory", form.get("memory"));
        if (memory == null) {
            throw new ConsoleErrors.FormException("memory", "give the guest's memory, e.g. 256M");
        }
        Map<String, String> named = ConsoleForms.pairs("ramBlocks", form.get("ramBlocks"));
        List<RamBlock> blocks = null;
        if (!named.isEmpty()) {
            blocks = new ArrayList<>();
            for (Map.Entry<String, String> b : named.entrySet()) {
                Long size = ConsoleForms.size("ramBlocks", b.getValue());
                blocks.add(new RamBlock(b.getKey(), size == null ? 0 : size));
            }
        }
        List<NewGuest.NewDisk> disks = new ArrayList<>();
        for (Map.Entry<String, String> d : ConsoleForms.pairs("disks", form.get("disks")).entrySet()) {
            Long size = ConsoleForms.size("disks", d.getValue());
            disks.add(new NewGuest.NewDisk(d.getKey(), size == null ? 0 : size));
        }
        Workload workload = GuestLayout.workload(ConsoleForms.integer("dirtyPagesPerSecond", form.get("dirtyPagesPerSecond")),
                ConsoleForms.decimal("hotSetFraction", form.get("hotSetFraction")),
                ConsoleForms.integer("diskWritesPerSecond", form.get("diskWritesPerSecond")),
                ConsoleForms.integer("seed", form.get("seed")));
        return GuestLayout.newGuest(name, hostId, memory, blocks, disks, null, workload,
                ConsoleForms.labels("labels", form.get("labels")));
    }

    @GetMapping("/console/guests/{guestId}")
    String guest(@PathVariable UUID guestId, Model model) {
        Guest g = guests.get(guestId);
        model.addAttribute("g", g);
        List<Disk> disks = guests.disksOf(guestId);
        model.addAttribute("disks", disks);
        model.addAttribute("owners", disks.stream().map(d -> ownership.find(d.id()).orElseThrow()).toList());
        model.addAttribute("jobs", jobs.list(new JobFilter(null, guestId, null), null, 10).items());
        model.addAttribute("hostIds", hosts.list().stream().map(Host::id).filter(h -> !h.equals(g.hostId())).toList());
        return "console/guest";
    }

    /** Taken with the workload held still: may take a moment on a large guest. */
    @GetMapping("/console/guests/{guestId}/checksums")
    String checksums(@PathVariable UUID guestId, Model model) {
        model.addAttribute("sums", guests.checksums(guestId));
        return "console/guest :: checksums";
    }

    @PostMapping("/console/guests/{guestId}/pause")
    String pause(@PathVariable UUID guestId) {
        guests.pause(guestId);
        return "redirect:/console/guests/" + guestId;
    }

    @PostMapping("/console/guests/{guestId}/resume")
    String resume(@PathVariable UUID guestId) {
        guests.resume(guestId);
        return "redirect:/console/guests/" + guestId;
    }

    @PostMapping("/console/guests/{guestId}/delete")
    String delete(@PathVariable UUID guestId, @RequestHeader(name = "HX-Request", required = false) String htmx,
                  HttpServletResponse response, Model model) {
        guests.delete(guestId);
        return goTo("/console/guests", "Deleted.", htmx, response, model);
    }

    /** The Migrate dialog's first step: what the request would meet now, moving nothing. */
    @PostMapping("/console/guests/{guestId}/preflight")
    String preflight(@PathVariable UUID guestId, @RequestParam Map<String, String> form, Model model) {
        guests.get(guestId);
        NewMigration request = migration(guestId, form);
        model.addAttribute("answer", preflight.check(request, 1000));
        model.addAttribute("form", form);
        return "console/preflight :: answer";
    }

    /** The dialog's second step: the job, through the API's own command; the browser goes to its page. */
    @PostMapping("/console/guests/{guestId}/migrate")
    String migrate(@PathVariable UUID guestId, @RequestParam Map<String, String> form, Principal principal,
                   HttpServletResponse response, @RequestHeader(name = "HX-Request", required = false) String htmx,
                   Model model) {
        MigrationJob job = commands.create(migration(guestId, form), null, ConsoleModel.actor(principal));
        return goTo("/console/migrations/" + job.id(), "Migration " + job.id() + " queued.", htmx, response, model);
    }

    static NewMigration migration(UUID guestId, Map<String, String> form) {
        String destination = form.getOrDefault("destination", "").strip();
        Long bandwidth = ConsoleForms.size("maxBandwidth", form.get("maxBandwidth"));
        Long downtime = ConsoleForms.integer("downtimeLimitMs", form.get("downtimeLimitMs"), 1,
                RequestedParameters.MAX_DOWNTIME_LIMIT_MS);
        Boolean postcopy = "on".equals(form.get("postcopy")) ? Boolean.TRUE : null;
        RequestedParameters requested = new RequestedParameters(bandwidth, downtime, null, null, postcopy, null, null,
                null, null, null, null);
        return new NewMigration(guestId, destination.isEmpty() ? null : destination, requested);
    }
}
