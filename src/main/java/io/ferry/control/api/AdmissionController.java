package io.ferry.control.api;

import io.ferry.control.admission.AdmissionService;
import io.ferry.control.admission.Limits;
import io.ferry.control.admission.LimitsRequest;
import io.ferry.control.job.JobStore;
import io.ferry.control.job.MigrationJob;
import jakarta.validation.Valid;
import java.security.Principal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** Admission: the limits in force, what uses them, and the queue with what each job waits for. */
@RestController
@RequestMapping("/api/v1/admission")
class AdmissionController {

    private final AdmissionService admission;
    private final JobStore jobs;

    AdmissionController(AdmissionService admission, JobStore jobs) {
        this.admission = admission;
        this.jobs = jobs;
    }

    record HostLimitsView(Integer maxOutbound, Integer maxInbound) {
    }

    record LimitsView(int maxJobs, int maxOutboundPerHost, int maxInboundPerHost, Map<String, HostLimitsView> hosts) {

        static LimitsView of(Limits l) {
            Map<String, HostLimitsView> hosts = new TreeMap<>();
            l.hosts().forEach((h, o) -> hosts.put(h, new HostLimitsView(o.maxOutbound(), o.maxInbound())));
            return new LimitsView(l.maxJobs(), l.maxOutboundPerHost(), l.maxInboundPerHost(), hosts);
        }
    }

    record QueuedView(UUID jobId, UUID guestId, String sourceHostId, String destinationHostId, String priority,
                      String waitingFor, Instant createdAt) {
    }

    record AdmissionView(LimitsView limits, int running, List<QueuedView> queue) {
    }

    @GetMapping
    AdmissionView get() {
        List<QueuedView> queue = jobs.queued().stream().sorted(java.util.Comparator
                        .comparing(MigrationJob::priority).thenComparing(MigrationJob::createdAt))
                .map(j -> new QueuedView(j.id(), j.guestId(), j.sourceHostId(), j.destinationHostId(),
                        j.priority().apiName(), j.waitingFor(), j.createdAt())).toList();
        return new AdmissionView(LimitsView.of(admission.limits()), jobs.running().size(), queue);
    }

    /** Sets the cluster's limits from the next admission pass; an absent value goes back to the configuration's. */
    @PutMapping("/limits")
    LimitsView setLimits(@Valid @RequestBody LimitsRequest body, Principal principal) {
        return LimitsView.of(admission.setClusterLimits(body.maxJobs(), body.maxOutboundPerHost(),
                body.maxInboundPerHost(), Requests.actor(principal)));
    }
}
