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
 */
@RestController
class WorkerChannelController {

    private final HostService hosts;
    private final GuestService guests;
    private final MigrationDispatcher dispatcher;
    private final HandoffSteps handoff;
    private final HandoffMetrics handoffMetrics;

    WorkerChannelController(HostService hosts, GuestService guests, MigrationDispatcher dispatcher,
                            HandoffSteps jobs, HandoffMetrics handoffMetrics) {
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
    ResponseEntity<Object> ownershipStep(@PathVariable UUID jobId, @RequestBody OwnershipStep step) {
        try {
            return ResponseEntity.ok(handoffMetrics.time(step.step(),
                    () -> handoff.ownershipStep(jobId, step, "worker:" + step.hostId())));
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
    ResponseEntity<Object> ownership(@PathVariable UUID jobId) {
        try {
            return ResponseEntity.ok(handoff.ownershipOf(jobId));
        } catch (JobNotFoundException unknown) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).body(new ErrorReply(unknown.getMessage()));
        }
    }

    @PostMapping(ControlChannel.MIGRATION_REPORT)
    ResponseEntity<Void> migrationReport(@PathVariable UUID jobId, @RequestBody MigrationReport report) {
        try {
            if (!dispatcher.report(jobId, report)) {
                return ResponseEntity.status(HttpStatus.GONE).build();
            }
        } catch (OptimisticLockingFailureException raced) {
            // retried by the worker for reports that matter
            return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).build();
        } catch (JobNotFoundException unknown) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).build();
        }
        return ResponseEntity.noContent().build();
    }

    @PutMapping(ControlChannel.REGISTER)
    ResponseEntity<Void> register(@PathVariable String hostId, @RequestBody WorkerRegistration registration) {
        if (!hostId.matches(ControlChannel.HOST_ID_PATTERN)) {
            return ResponseEntity.badRequest().build();
        }
        hosts.register(hostId, registration.workerInstance(), registration.controlAddress(),
                registration.dataAddress(), registration.datastoreId() == null ? "" : registration.datastoreId(),
                registration.memoryCapacityBytes(), registration.cpus());
        guests.reconcile(hostId, registration.workerInstance(), registration.guests());
        return ResponseEntity.noContent().build();
    }

    @PostMapping(ControlChannel.HEARTBEAT)
    ResponseEntity<Void> heartbeat(@PathVariable String hostId, @RequestBody WorkerHeartbeat heartbeat) {
        try {
            if (!hosts.heartbeat(hostId, heartbeat.workerInstance())) {
                return ResponseEntity.status(HttpStatus.NOT_FOUND).build();
            }
            guests.reconcile(hostId, heartbeat.workerInstance(), heartbeat.guests());
        } catch (OptimisticLockingFailureException raced) {
            // the host or a guest row changed meanwhile (monitor, API, another replica): the next beat counts
            return ResponseEntity.status(HttpStatus.CONFLICT).build();
        }
        return ResponseEntity.noContent().build();
    }
}
