package io.ferry.control.dispatch;

import io.ferry.channel.GuestReport;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationJob;
import io.ferry.control.system.WorkerPrincipal;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Whether the worker behind a control-channel request may say what it says: a worker speaks
 * for its own host only, reports and steps only jobs of which its host is the source or the
 * destination, and reports only guests recorded on its host or moving to or from it. The
 * decisions are the small static functions (null: allowed; else the reason); a refusal is
 * logged and answered 403 by the controller.
 */
@Component
class WorkerIdentity {

    private static final Logger log = LoggerFactory.getLogger(WorkerIdentity.class);

    private final JobStore jobs;
    private final GuestService guests;

    WorkerIdentity(JobStore jobs, GuestService guests) {
        this.jobs = jobs;
        this.guests = guests;
    }

    /** The worker refused: it acted for a host, job or guest that is not its own. */
    static final class RefusedException extends RuntimeException {

        RefusedException(String message) {
            super(message);
        }
    }

    static String hostRefusal(WorkerPrincipal caller, String hostId, boolean registration) {
        if (caller.isBootstrap()) {
            return registration ? null : "the bootstrap token may only register";
        }
        return caller.hostId().equals(hostId) ? null
                : "the credential of host '" + caller.hostId() + "' may not speak for host '" + hostId + "'";
    }

    static String jobRefusal(WorkerPrincipal caller, UUID jobId, String sourceHostId, String destinationHostId) {
        if (caller.isBootstrap()) {
            return "the bootstrap token may only register";
        }
        return caller.hostId().equals(sourceHostId) || caller.hostId().equals(destinationHostId) ? null
                : "host '" + caller.hostId() + "' is neither the source ('" + sourceHostId + "') nor the destination ('"
                        + destinationHostId + "') of job " + jobId;
    }

    /**
     * A guest reported by {@code caller} but recorded on {@code recordedHostId}: allowed only while
     * (or just after) the guest's latest job moves it between the two — the destination holds
     * the incoming guest during the stream, the source holds it until it lets go.
     */
    static String guestRefusal(WorkerPrincipal caller, UUID guestId, String recordedHostId,
                               String latestJobSource, String latestJobDestination) {
        if (caller.hostId().equals(recordedHostId)) {
            return null;
        }
        boolean moving = caller.hostId().equals(latestJobSource) || caller.hostId().equals(latestJobDestination);
        return moving ? null : "host '" + caller.hostId() + "' reported guest " + guestId + ", which is recorded on '"
                + recordedHostId + "' and not moving to or from it";
    }

    void checkHost(WorkerPrincipal caller, String hostId, boolean registration, String what, String from) {
        refuseIf(hostRefusal(caller, hostId, registration), caller, what, from);
    }

    void checkJob(WorkerPrincipal caller, UUID jobId, String what, String from) {
        MigrationJob job = jobs.get(jobId);
        refuseIf(jobRefusal(caller, jobId, job.sourceHostId(), job.destinationHostId()), caller, what, from);
    }

    /** Every reported guest not recorded on the caller's host must be moving to or from it. */
    void checkGuests(WorkerPrincipal caller, List<GuestReport> reports, String what, String from) {
        if (reports == null || reports.isEmpty()) {
            return;
        }
        Set<UUID> own = guests.onHost(caller.hostId()).stream().map(Guest::id).collect(Collectors.toSet());
        for (GuestReport report : reports) {
            if (report == null || report.guestId() == null || own.contains(report.guestId())) {
                continue;
            }
            Optional<Guest> guest = guests.find(report.guestId());
            if (guest.isEmpty()) {
                continue;   // deleted meanwhile, or never created through the control plane: nothing to act on
            }
            Optional<MigrationJob> latest = jobs.latestOf(report.guestId());
            refuseIf(guestRefusal(caller, report.guestId(), guest.get().hostId(),
                    latest.map(MigrationJob::sourceHostId).orElse(null),
                    latest.map(MigrationJob::destinationHostId).orElse(null)), caller, what, from);
        }
    }

    private static void refuseIf(String refusal, WorkerPrincipal caller, String what, String from) {
        if (refusal != null) {
            log.warn("control channel: refused {} by {} from {}: {}", what, caller.getName(), from, refusal);
            throw new RefusedException(refusal);
        }
    }
}
