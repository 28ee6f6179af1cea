package io.ferry.control.api;

import io.ferry.control.admission.AdmissionService;
import io.ferry.control.admission.LimitsRequest;
import io.ferry.control.drain.DrainService;
import io.ferry.control.guest.GuestService;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostNotFoundException;
import io.ferry.control.host.HostService;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/v1/hosts")
class HostController {

    private final HostService hosts;
    private final GuestService guests;
    private final AdmissionService admission;
    private final DrainService drains;

    HostController(HostService hosts, GuestService guests, AdmissionService admission, DrainService drains) {
        this.hosts = hosts;
        this.guests = guests;
        this.admission = admission;
        this.drains = drains;
    }

    record LabelsBody(@NotNull Map<String, String> labels) {
    }

    record DrainBody(Map<String, String> destinationSelector, @Min(1) @Max(10) Integer maxAttempts) {
    }

    @GetMapping
    List<HostResponse> list() {
        return hosts.list().stream().map(this::view).toList();
    }

    @GetMapping("/{hostId}")
    HostResponse get(@PathVariable String hostId) {
        return view(host(hostId));
    }

    @PutMapping("/{hostId}/labels")
    HostResponse relabel(@PathVariable String hostId, @Valid @RequestBody LabelsBody body) {
        return view(hosts.relabel(hostId, Requests.labels("labels", body.labels())));
    }

    /** This host's own admission limits; null (or absent) goes back to the cluster-wide per-host value. */
    @PutMapping("/{hostId}/limits")
    HostResponse limits(@PathVariable String hostId, @Valid @RequestBody LimitsRequest.ForHost body, Principal principal) {
        admission.setHostLimits(hostId, body.maxOutbound(), body.maxInbound(), Requests.actor(principal));
        return view(host(hostId));
    }

    /** Cordons the host and moves every guest off it (202: the moves go on; GET the host to follow). */
    @PostMapping("/{hostId}/drain")
    ResponseEntity<HostResponse> drain(@PathVariable String hostId, @Valid @RequestBody(required = false) DrainBody body,
                                       Principal principal) {
        DrainBody b = body == null ? new DrainBody(null, null) : body;
        drains.start(hostId, Requests.labels("destinationSelector", b.destinationSelector()),
                b.maxAttempts() == null ? DrainService.DEFAULT_MAX_ATTEMPTS : b.maxAttempts(),
                Requests.actor(principal));
        return ResponseEntity.accepted().body(view(host(hostId)));
    }

    /** Uncordons the host; a running drain stops and its moves not yet started are cancelled. */
    @DeleteMapping("/{hostId}/drain")
    HostResponse uncordon(@PathVariable String hostId, Principal principal) {
        drains.stop(hostId, Requests.actor(principal));
        return view(host(hostId));
    }

    /**
     * Revokes the host's worker credential: the worker must register again with the bootstrap
     * token. With {@code refuseRegistration} it may not until an operator revokes again with
     * {@code refuseRegistration: false}.
     */
    @PostMapping("/{hostId}/revoke-credential")
    HostResponse revokeCredential(@PathVariable String hostId,
                                  @Valid @RequestBody(required = false) RevokeCredentialBody body) {
        hosts.revokeCredential(hostId, body != null && Boolean.TRUE.equals(body.refuseRegistration()));
        return view(host(hostId));
    }

    record RevokeCredentialBody(Boolean refuseRegistration) {
    }

    private Host host(String hostId) {
        return hosts.find(hostId).orElseThrow(() -> new HostNotFoundException(hostId));
    }

    private HostResponse view(Host h) {
        io.ferry.control.admission.Limits limits = admission.limits();
        int[] inOut = admission.jobsPerHost().getOrDefault(h.id(), new int[2]);
        return HostResponse.of(h, guests.allocatedMemory(h.id()), admission.reservedIncoming().getOrDefault(h.id(), 0L),
                new HostResponse.Limits(limits.outboundOf(h.id()), limits.inboundOf(h.id())),
                new HostResponse.Jobs(inOut[0], inOut[1]),
                drains.current(h.id()).map(HostResponse.DrainView::of).orElse(null));
    }
}
