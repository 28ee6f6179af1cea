package io.ferry.control.api;

import io.ferry.control.api.MigrationRequests.Capabilities;
import io.ferry.control.api.MigrationRequests.CreateMigration;
import io.ferry.control.api.MigrationRequests.Parameters;
import io.ferry.control.api.MigrationRequests.TuneMigration;
import io.ferry.control.job.JobCursor;
import io.ferry.control.job.JobFilter;
import io.ferry.control.job.JobStatus;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.job.JobViews;
import io.ferry.control.job.MigrationCommands;
import io.ferry.control.job.JobPriority;
import io.ferry.channel.CompressionMethod;
import io.ferry.control.job.JobTuning;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.control.job.RequestedParameters;
import io.ferry.control.job.NewMigration;
import io.ferry.channel.StorageMode;
import io.ferry.control.job.AbandonSide;
import io.ferry.control.job.PostcopyAbandon;
import io.ferry.control.api.MigrationRequests.AbandonMigration;
import io.ferry.control.preflight.PreflightService;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

@RestController
@RequestMapping("/api/v1/migrations")
class MigrationController {

    /** page × size (at most 200) stays an int offset: page=10737419&size=200 once overflowed into a 500. */
    static final int MAX_PAGE = 10_000_000;

    private final MigrationCommands jobs;
    private final JobViews views;
    private final PreflightService preflight;
    private final PostcopyAbandon abandon;
    private final JsonMapper json;

    MigrationController(MigrationCommands jobs, JobViews views, PreflightService preflight, PostcopyAbandon abandon,
                        JsonMapper json) {
        this.abandon = abandon;
        this.jobs = jobs;
        this.preflight = preflight;
        this.views = views;
        this.json = json;
    }

    @PostMapping
    ResponseEntity<MigrationResponse> create(@Valid @RequestBody CreateMigration body,
                                             @RequestHeader(name = Requests.IDEMPOTENCY_KEY, required = false) String key,
                                             Principal principal) {
        Parameters p = body.parameters();
        MigrationJob job = jobs.create(new NewMigration(body.guestId(), body.destinationHostId(), requested(p)),
                Requests.idempotencyKey("migrations", key, body, json), Requests.actor(principal));
        return ResponseEntity.accepted().location(URI.create("/api/v1/migrations/" + job.id()))
                .body(view(job));
    }

    /**
     * Pre-flight: the same body as a create; answers what it would meet now without moving
     * anything (measuring the dirty rate takes {@code dirtyRateWindowMs}).
     */
    @PostMapping("/preflight")
    PreflightResponse preflight(@Valid @RequestBody CreateMigration body,
                                @RequestParam(defaultValue = "1000") @Min(100) @Max(60_000) long dirtyRateWindowMs) {
        return PreflightResponse.of(preflight.check(new NewMigration(body.guestId(), body.destinationHostId(),
                requested(body.parameters())), dirtyRateWindowMs));
    }

    /**
     * Newest first. {@code after} (the {@code next} of the page before) is the way to page:
     * each page is an index range scan from where the last one stopped, and nothing is counted.
     * {@code page} still works and counts the jobs (a scan of every match), and skips the
     * earlier pages' jobs to get there.
     */
    @GetMapping
    PageResponse<MigrationResponse> list(@RequestParam(required = false) String status,
                                         @RequestParam(required = false) UUID guestId,
                                         @RequestParam(required = false) String hostId,
                                         @RequestParam(required = false) String after,
                                         @RequestParam(required = false) @Min(0) @Max(MAX_PAGE) Integer page,
                                         @RequestParam(defaultValue = "20") @Min(1) @Max(200) int size) {
        JobFilter filter = new JobFilter(status == null ? null : parseStatus(status), guestId, hostId);
        if (page != null) {
            if (after != null) {
                throw new InvalidRequestException("page", "give either page or after, not both");
            }
            return PageResponse.of(views.page(filter, page, size), page, size, this::view);
        }
        return PageResponse.of(views.list(filter, after == null ? null : parseCursor(after), size), null, size,
                this::view);
    }

    @GetMapping("/{jobId}")
    MigrationResponse get(@PathVariable UUID jobId) {
        return view(views.get(jobId));
    }

    @PatchMapping("/{jobId}")
    MigrationResponse tune(@PathVariable UUID jobId, @Valid @RequestBody TuneMigration body, Principal principal) {
        JobTuning tuning = new JobTuning(body.maxBandwidth(), body.downtimeLimitMs(), body.autoConverge());
        if (tuning.isEmpty()) {
            throw new InvalidRequestException("body", "name at least one of maxBandwidth, downtimeLimitMs, autoConverge");
        }
        return view(jobs.tune(jobId, tuning, Requests.actor(principal)));
    }

    @PostMapping("/{jobId}/cancel")
    MigrationResponse cancel(@PathVariable UUID jobId, Principal principal) {
        return view(jobs.cancel(jobId, Requests.actor(principal)));
    }

    @PostMapping("/{jobId}/postcopy")
    ResponseEntity<MigrationResponse> postcopy(@PathVariable UUID jobId, Principal principal) {
        return ResponseEntity.accepted().body(view(jobs.startPostcopy(jobId, Requests.actor(principal))));
    }

    @PostMapping("/{jobId}/recover")
    ResponseEntity<MigrationResponse> recover(@PathVariable UUID jobId, Principal principal) {
        return ResponseEntity.accepted().body(view(jobs.recover(jobId, Requests.actor(principal))));
    }

    /** Nova's force-complete: the source holds the guest still so the copy converges (202). */
    @PostMapping("/{jobId}/force-complete")
    ResponseEntity<MigrationResponse> forceComplete(@PathVariable UUID jobId, Principal principal) {
        return ResponseEntity.accepted().body(view(jobs.forceComplete(jobId, Requests.actor(principal))));
    }

    /**
     * Ends a postcopy-paused job whose other side's worker is gone, keeping the named side's half
     * of the guest (see {@link PostcopyAbandon}); refused (409) while both halves are alive.
     */
    @PostMapping("/{jobId}/abandon")
    MigrationResponse abandon(@PathVariable UUID jobId, @Valid @RequestBody AbandonMigration body,
                              Principal principal) {
        return view(abandon.abandon(jobId, AbandonSide.fromApiName(body.keep()), body.reason(),
                Requests.actor(principal)).job());
    }

    @GetMapping("/{jobId}/events")
    List<JobEventResponse> events(@PathVariable UUID jobId) {
        return views.events(jobId).stream().map(JobEventResponse::of).toList();
    }

    private MigrationResponse view(MigrationJob job) {
        return MigrationResponse.of(job, views.progress(job), views.diskStates(job), views.driver(job));
    }

    private static JobCursor parseCursor(String after) {
        try {
            return JobCursor.decode(after);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("after", e.getMessage() + ": pass the next of an earlier page");
        }
    }

    private static JobStatus parseStatus(String status) {
        try {
            return JobStatus.fromApiName(status);
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("status", "'" + status + "' is not a job status");
        }
    }

    /** What the request names; the rest comes from the matching policy, then QEMU's defaults. */
    static RequestedParameters requested(Parameters p) {
        if (p == null) {
            return RequestedParameters.NONE;
        }
        Capabilities c = p.capabilities() == null ? new Capabilities(null, null, null, null, null) : p.capabilities();
        RequestedConvergence convergence = new RequestedConvergence(c.autoConverge(), c.xbzrle(),
                c.compression() == null ? null : CompressionMethod.fromApiName(c.compression()), p.convergence());
        return new RequestedParameters(p.maxBandwidth(), p.downtimeLimitMs(),
                p.storage() == null ? null : StorageMode.fromApiName(p.storage()), p.verifyChecksums(), c.postcopy(),
                convergence, c.channels(), p.postcopyAfterIterations(),
                p.postcopyWhenNotConverging(), p.maxPostcopyBandwidth(),
                p.priority() == null ? null : JobPriority.fromApiName(p.priority()));
    }
}
