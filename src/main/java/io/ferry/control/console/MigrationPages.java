package io.ferry.control.console;

import io.ferry.control.events.EventFeed;
import io.ferry.control.events.EventLog;
import io.ferry.control.events.EventType;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.job.JobCursor;
import io.ferry.control.job.JobTuning;
import io.ferry.control.job.JobFilter;
import io.ferry.control.job.JobPage;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.JobViews;
import io.ferry.control.job.MigrationCommands;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.ownership.OwnershipService;
import java.security.Principal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The migrations list (filters, paging by cursor) and a job's page: progress, charts, timeline,
 * settings and policy, disks, and the actions the API allows in its state, each through
 * {@link MigrationCommands} as the API's.
 */
@Controller
class MigrationPages {

    static final int PAGE_SIZE = 50;
    /** The longest page the list shows (a maintenance window's worth of jobs on one page). */
    static final int MAX_PAGE_SIZE = 1000;
    /** The last id a cursor can name: "before T" is the cursor (T, this). */
    private static final UUID LAST = UUID.fromString("ffffffff-ffff-ffff-ffff-ffffffffffff");

    private final JobViews views;
    private final MigrationCommands commands;
    private final GuestService guests;
    private final HostService hosts;
    private final EventFeed feed;
    private final OwnershipService ownership;
    private final JsonMapper json;
    private final Fmt fmt;

    MigrationPages(JobViews views, MigrationCommands commands, GuestService guests, HostService hosts, EventFeed feed,
                   OwnershipService ownership, JsonMapper json, Fmt fmt) {
        this.fmt = fmt;
        this.views = views;
        this.commands = commands;
        this.guests = guests;
        this.hosts = hosts;
        this.feed = feed;
        this.ownership = ownership;
        this.json = json;
    }

    /** A row of the list: the job, its guest's name and its progress bar, written once here. */
    record JobRow(MigrationJob job, String shortId, String guestName, String move, Fmt.Bar bar) {
    }

    @GetMapping("/console/migrations")
    String list(@RequestParam(defaultValue = "") String status, @RequestParam(defaultValue = "") String host,
                @RequestParam(defaultValue = "") String guest, @RequestParam(defaultValue = "") String before,
                @RequestParam(defaultValue = "") String after, @RequestParam(defaultValue = "") String size, Model model,
                jakarta.servlet.http.HttpServletRequest request) {
        JobStatus s = status.isBlank() ? null : parseStatus(status);
        UUID guestId = guest.isBlank() ? null : parseUuid("guest", guest);
        String hostId = host.isBlank() ? null : host.strip();
        JobCursor cursor = null;
        if (!after.isBlank()) {
            try {
                cursor = JobCursor.decode(after);
            } catch (IllegalArgumentException e) {
                throw new ConsoleErrors.FormException("after", "not a page of this list: start again from the first");
            }
        } else if (!before.isBlank()) {
            cursor = new JobCursor(parseInstant(before), LAST);
        }
        Long pageSize = ConsoleForms.integer("size", size, 1, MAX_PAGE_SIZE);
        int n = pageSize == null ? PAGE_SIZE : pageSize.intValue();
        JobPage page = views.list(new JobFilter(s, guestId, hostId), cursor, n);
        Map<UUID, String> names = new HashMap<>();
        guests.list().forEach(g -> names.put(g.id(), g.name()));
        model.addAttribute("rows", page.items().stream()
                .map(j -> new JobRow(j, j.id().toString().substring(0, 8), names.getOrDefault(j.guestId(), "(deleted)"),
                        j.sourceHostId() + " → " + j.destinationHostId(), fmt.bar(j, views.progress(j)))).toList());
        model.addAttribute("next", page.next() == null ? null : page.next().encode());
        model.addAttribute("selfUrl", request.getRequestURI()
                + (request.getQueryString() == null ? "" : "?" + request.getQueryString()));
        model.addAttribute("status", status);
        model.addAttribute("host", host);
        model.addAttribute("guest", guest);
        model.addAttribute("before", before);
        model.addAttribute("size", n);
        model.addAttribute("sizes", java.util.List.of(50, 200, 1000));
        model.addAttribute("statuses", java.util.Arrays.stream(JobStatus.values()).map(JobStatus::apiName).toList());
        model.addAttribute("hostIds", hosts.list().stream().map(Host::id).toList());
        return "console/migrations";
    }

    @GetMapping("/console/migrations/{jobId}")
    String job(@PathVariable UUID jobId, Model model) {
        MigrationJob job = views.get(jobId);
        model.addAttribute("job", job);
        io.ferry.channel.MigrationProgress p = views.progress(job);
        model.addAttribute("p", p);
        model.addAttribute("bar", fmt.bar(job, p));
        model.addAttribute("guest", guests.find(job.guestId()).orElse(null));
        model.addAttribute("disks", views.diskStates(job));
        model.addAttribute("timeline", views.events(jobId));
        model.addAttribute("history", history(jobId));
        model.addAttribute("ownershipHistory", ownershipHistory(job));
        Map<String, Boolean> actions = actions(job);
        model.addAttribute("actions", actions);
        model.addAttribute("enabledActions", String.join(",", actions.entrySet().stream().filter(Map.Entry::getValue)
                .map(Map.Entry::getKey).toList()));
        return "console/job";
    }

    /** What the API would accept in this state; the others are not offered (and refused if forced). */
    static Map<String, Boolean> actions(MigrationJob job) {
        JobStatus s = job.status();
        Map<String, Boolean> a = new LinkedHashMap<>();
        // offered until the job ends: when the job can no longer be cancelled (switchover, post-copy)
        // the refusal says why, which an operator should read rather than find a dead button
        a.put("cancel", !s.isTerminal() && s != JobStatus.CANCELLING);
        a.put("postcopy", s == JobStatus.ACTIVE && job.parameters().postcopy());
        a.put("forceComplete", s == JobStatus.ACTIVE);
        a.put("recover", s == JobStatus.POSTCOPY_PAUSED);
        a.put("tune", !s.isTerminal());
        return a;
    }

    /**
     * The job's progress events still in the event log, as the charts' first points:
     * {@code t,remaining,transferred,rate,dirty,faultP99;…} (seconds, bytes, bytes per second,
     * bytes per second, milliseconds); a figure an event does not carry is left empty (no point).
     */
    private String history(UUID jobId) {
        List<String> points = new ArrayList<>();
        for (EventLog e : feed.jobHistory(jobId, EventType.JOB_PROGRESS)) {
            JsonNode p = json.readTree(e.payload());
            JsonNode dirty = p.path("dirtyPagesRate");
            JsonNode fault = p.path("postcopyFaultP99Ms");
            points.add(e.at().toEpochMilli() / 1000.0 + "," + p.path("remainingBytes").asLong() + ","
                    + p.path("transferredBytes").asLong() + "," + Math.round(p.path("mbps").asDouble() * 125_000) + ","
                    + (dirty.isNumber() ? Long.toString(dirty.asLong() * Fmt.PAGE) : "") + ","
                    + (fault.isNumber() ? Double.toString(fault.asDouble()) : ""));
        }
        return String.join(";", points);
    }

    private Map<UUID, List<io.ferry.control.ownership.OwnershipRecord>> ownershipHistory(MigrationJob job) {
        Map<UUID, List<io.ferry.control.ownership.OwnershipRecord>> byDisk = new LinkedHashMap<>();
        guests.disksOf(job.guestId()).forEach(d -> byDisk.put(d.id(), ownership.history(d.id())));
        return byDisk;
    }

    @PostMapping("/console/migrations/{jobId}/cancel")
    String cancel(@PathVariable UUID jobId, Principal principal, Model model) {
        MigrationJob job = commands.cancel(jobId, ConsoleModel.actor(principal));
        return done(model, "Cancel requested: the job is " + job.status().apiName() + ".");
    }

    @PostMapping("/console/migrations/{jobId}/postcopy")
    String postcopy(@PathVariable UUID jobId, Principal principal, Model model) {
        commands.startPostcopy(jobId, ConsoleModel.actor(principal));
        return done(model, "Switch to post-copy requested: the source switches at its next safe point.");
    }

    @PostMapping("/console/migrations/{jobId}/recover")
    String recover(@PathVariable UUID jobId, Principal principal, Model model) {
        commands.recover(jobId, ConsoleModel.actor(principal));
        return done(model, "Recovery requested: the source reconnects to the destination now.");
    }

    @PostMapping("/console/migrations/{jobId}/force-complete")
    String forceComplete(@PathVariable UUID jobId, Principal principal, Model model) {
        commands.forceComplete(jobId, ConsoleModel.actor(principal));
        return done(model, "Force-complete requested: the source holds the guest still so the copy converges.");
    }

    @PostMapping("/console/migrations/{jobId}/tune")
    String tune(@PathVariable UUID jobId, @RequestParam(defaultValue = "") String maxBandwidth,
                @RequestParam(defaultValue = "") String downtimeLimitMs, Principal principal, Model model) {
        Long bandwidth = ConsoleForms.size("maxBandwidth", maxBandwidth);
        Long downtime = ConsoleForms.integer("downtimeLimitMs", downtimeLimitMs, 1,
                io.ferry.control.job.RequestedParameters.MAX_DOWNTIME_LIMIT_MS);
        if (bandwidth == null && downtime == null) {
            throw new ConsoleErrors.FormException("maxBandwidth", "give a bandwidth, a downtime limit or both");
        }
        MigrationJob job = commands.tune(jobId, JobTuning.limits(bandwidth, downtime), ConsoleModel.actor(principal));
        return done(model, "Tuned: bandwidth " + new Fmt().rate((double) job.parameters().maxBandwidth())
                + " (0 = unlimited), downtime limit " + job.parameters().downtimeLimitMs() + " ms.");
    }

    private static String done(Model model, String message) {
        model.addAttribute("message", message);
        return "console/error :: ok";
    }

    static JobStatus parseStatus(String status) {
        try {
            return JobStatus.fromApiName(status.strip());
        } catch (IllegalArgumentException e) {
            throw new ConsoleErrors.FormException("status", "'" + status + "' is not a job status");
        }
    }

    static UUID parseUuid(String field, String text) {
        try {
            UUID id = UUID.fromString(text.strip());
            if (!id.toString().equals(text.strip().toLowerCase(java.util.Locale.ROOT))) {
                throw new IllegalArgumentException();
            }
            return id;
        } catch (IllegalArgumentException e) {
            throw new ConsoleErrors.FormException(field, "'" + text.strip() + "' is not an id (8-4-4-4-12 hex digits)");
        }
    }

    /**
     * An ISO instant: the filter's field is in the browser's zone and its script sends the instant
     * (a local date-time without an offset, typed into the URL by hand, is taken as UTC).
     */
    private static Instant parseInstant(String text) {
        String t = text.strip();
        try {
            return t.endsWith("Z") || t.matches(".*[+-]\\d\\d:\\d\\d$") ? java.time.OffsetDateTime.parse(t).toInstant()
                    : java.time.LocalDateTime.parse(t).toInstant(java.time.ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw new ConsoleErrors.FormException("before", "'" + t + "' is not a time (2026-01-31T12:00)");
        }
    }

}
