package io.ferry.control.dispatch;

import io.ferry.channel.ControlChannel;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.OwnershipStep;
import io.ferry.control.job.JobNotFoundException;
import io.ferry.control.job.HandoffSteps;
import io.ferry.control.metrics.HandoffMetrics;
import io.ferry.control.ownership.OwnershipConflictException;
import org.springframework.web.bind.annotation.GetMapping;
import java.util.UUID;
import io.ferry.channel.WorkerHeartbeat;
import io.ferry.channel.WorkerRegistration;
import io.ferry.control.guest.GuestService;
import io.ferry.control.host.HostService;
import io.ferry.control.host.RegistrationRefusedException;
import io.ferry.control.system.WorkerPrincipal;
import io.ferry.channel.WorkerCredential;
import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * Worker → control plane half of the control channel. A heartbeat from a worker process the
 * control plane does not know (after a database reset, or a heartbeat racing a restart) is
 * answered 404, which tells the worker to register again with its full inventory.
 *
 * <p>Who may say what: registration takes the bootstrap token (or the host's own credential) and
 * answers the worker's new credential; every other request carries a host's credential (see
 * {@code SecurityConfig#workerChannel}) and {@link WorkerIdentity} refuses, with 403, one that
 * speaks for another host, another host's job or another host's guest.
 */
@RestController
class WorkerChannelController {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(WorkerChannelController.class);

    private final HostService hosts;
    private final GuestService guests;
    private final MigrationDispatcher dispatcher;
    private final HandoffSteps handoff;
    private final HandoffMetrics handoffMetrics;
    private final WorkerIdentity identity;

    WorkerChannelController(HostService hosts, GuestService guests, MigrationDispatcher dispatcher,
                            HandoffSteps jobs, HandoffMetrics handoffMetrics, WorkerIdentity identity) {
        this.identity = identity;
        this.hosts = hosts;
        this.guests = guests;
        this.dispatcher = dispatcher;
        this.handoff = jobs;
        this.handoffMetrics = handoffMetrics;
    }

    /**
     * A worker's hand-off step: 200 with the granted records, 409 when another step won (the
     * worker must not write), 503 when a concurrent step raced this one (retry: it decides anew).
     */
    @PostMapping(ControlChannel.MIGRATION_OWNERSHIP)
    ResponseEntity<Object> ownershipStep(@PathVariable UUID jobId, @RequestBody OwnershipStep step,
                                         Principal principal, HttpServletRequest request) {
        WorkerPrincipal caller = WorkerPrincipal.of(principal);
        try {
            String what = "hand-off step " + step.step() + " of job " + jobId;
            identity.checkHost(caller, step.hostId(), false, what, request.getRemoteAddr());
            identity.checkJob(caller, jobId, what, request.getRemoteAddr());
            return ResponseEntity.ok(handoffMetrics.time(step.step(),
                    () -> handoff.ownershipStep(jobId, step, caller.getName())));
        } catch (WorkerIdentity.RefusedException refused) {
            return ResponseEntity.status(HttpStatus.FORBIDDEN).body(new ErrorReply(refused.getMessage()));
        } catch (OwnershipConflictException refused) {
            return ResponseEntity.status(HttpStatus.CONFLICT).body(new ErrorReply(refused.getMessage()));
        } catch (OptimisticLockingFailureException raced) {
            return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body(new ErrorReply("raced; retry"));
        } catch (JobNotFoundException unknown) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).body(new ErrorReply(unknown.getMessage()));
        } catch (IllegalArgumentException bad) {
            return ResponseEntity.badRequest().body(new ErrorReply(bad.getMessage()));
        }
    }

    @GetMapping(ControlChannel.MIGRATION_OWNERSHIP)
    ResponseEntity<Object> ownership(@PathVariable UUID jobId, Principal principal, HttpServletRequest request) {
        try {
            identity.checkJob(WorkerPrincipal.of(principal), jobId, "ownership read of job " + jobId,
                    request.getRemoteAddr());
            return ResponseEntity.ok(handoff.ownershipOf(jobId));
        } catch (WorkerIdentity.RefusedException refused) {
            return ResponseEntity.status(HttpStatus.FORBIDDEN).body(new ErrorReply(refused.getMessage()));
        } catch (JobNotFoundException unknown) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).body(new ErrorReply(unknown.getMessage()));
        }
    }

    @PostMapping(ControlChannel.MIGRATION_REPORT)
    ResponseEntity<Object> migrationReport(@PathVariable UUID jobId, @RequestBody MigrationReport report,
                                           Principal principal, HttpServletRequest request) {
        try {
            identity.checkJob(WorkerPrincipal.of(principal), jobId, "report on job " + jobId, request.getRemoteAddr());
            if (!dispatcher.report(jobId, report)) {
                return ResponseEntity.status(HttpStatus.GONE).build();
            }
        } catch (WorkerIdentity.RefusedException refused) {
            return ResponseEntity.status(HttpStatus.FORBIDDEN).body(new ErrorReply(refused.getMessage()));
        } catch (OptimisticLockingFailureException raced) {
            // retried by the worker for reports that matter
            return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).build();
        } catch (JobNotFoundException unknown) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).build();
        }
        return ResponseEntity.noContent().build();
    }

    /**
     * 200 with the worker's new credential (any earlier one stops working); 403 for another
     * host's credential, a guest of another host, or a host an operator revoked for good.
     */
    @PutMapping(ControlChannel.REGISTER)
    ResponseEntity<Object> register(@PathVariable String hostId, @RequestBody WorkerRegistration registration,
                                    Principal principal, HttpServletRequest request) {
        if (!hostId.matches(ControlChannel.HOST_ID_PATTERN)) {
            return ResponseEntity.badRequest().build();
        }
        WorkerPrincipal caller = WorkerPrincipal.of(principal);
        HostService.Registered registered;
        try {
            identity.checkHost(caller, hostId, true, "registration of host " + hostId, request.getRemoteAddr());
            identity.checkGuests(new WorkerPrincipal(hostId), registration.guests(),
                    "registration of host " + hostId, request.getRemoteAddr());
            registered = hosts.register(hostId, registration.workerInstance(), registration.controlAddress(),
                    registration.dataAddress(), registration.datastoreId() == null ? "" : registration.datastoreId(),
                    registration.memoryCapacityBytes(), registration.cpus(), registration.runtimes().stream()
                            .map(r -> new io.ferry.control.host.HostRuntime(r.runtime().apiName(), r.available(),
                                    r.detail() == null ? "" : abbreviate(r.detail(), 500)))
                            .toList());
        } catch (WorkerIdentity.RefusedException | RegistrationRefusedException refused) {
            if (refused instanceof RegistrationRefusedException) {
                log.warn(
                        "control channel: refused registration of host {} from {}: revoked by an operator", hostId,
                        request.getRemoteAddr());
            }
            return ResponseEntity.status(HttpStatus.FORBIDDEN).body(new ErrorReply(refused.getMessage()));
        }
        guests.reconcile(hostId, registration.workerInstance(), registration.guests());
        return ResponseEntity.ok(new WorkerCredential(hostId, registered.credential()));
    }

    @PostMapping(ControlChannel.HEARTBEAT)
    ResponseEntity<Object> heartbeat(@PathVariable String hostId, @RequestBody WorkerHeartbeat heartbeat,
                                     Principal principal, HttpServletRequest request) {
        try {
            WorkerPrincipal caller = WorkerPrincipal.of(principal);
            identity.checkHost(caller, hostId, false, "heartbeat of host " + hostId, request.getRemoteAddr());
            identity.checkGuests(caller, heartbeat.guests(), "heartbeat of host " + hostId, request.getRemoteAddr());
            if (!hosts.heartbeat(hostId, heartbeat.workerInstance())) {
                return ResponseEntity.status(HttpStatus.NOT_FOUND).build();
            }
            guests.reconcile(hostId, heartbeat.workerInstance(), heartbeat.guests());
        } catch (WorkerIdentity.RefusedException refused) {
            return ResponseEntity.status(HttpStatus.FORBIDDEN).body(new ErrorReply(refused.getMessage()));
        } catch (OptimisticLockingFailureException raced) {
            // the host or a guest row changed meanwhile (monitor, API, another replica): the next beat counts
            return ResponseEntity.status(HttpStatus.CONFLICT).build();
        }
        return ResponseEntity.noContent().build();
    }

    /** A worker's words, cut to what the host row keeps (its runtimes column holds 4000 characters in all). */
    private static String abbreviate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 3) + "...";
    }
}
