package io.ferry.control.api;

import io.ferry.control.job.ConvergenceTuning;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.control.policy.MigrationPolicy;
import io.ferry.control.policy.PolicyRequest;
import io.ferry.control.policy.PolicyService;
import io.ferry.control.policy.PolicySettings;
import jakarta.validation.Valid;
import java.net.URI;
import java.security.Principal;
import java.time.Instant;
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

/** Migration policies: label-selected settings, timeouts and escalation (see {@link PolicySettings}). */
@RestController
@RequestMapping("/api/v1/policies")
class PolicyController {

    static final String NAME = PolicyRequest.NAME;

    private final PolicyService policies;

    PolicyController(PolicyService policies) {
        this.policies = policies;
    }

    record RampStepView(long afterSeconds, long downtimeLimitMs) {
    }

    record PolicyView(String name, String description, Map<String, String> guestSelector,
                      Map<String, String> hostSelector, Map<String, String> destinationSelector, Long maxBandwidth,
                      Long downtimeLimitMs, List<RampStepView> downtimeRamp, Long completionTimeoutPerGiB,
                      Long progressTimeout, Boolean allowPostcopy, String storage, String priority,
                      List<String> escalation, Long escalationGrace, Boolean verifyChecksums, Boolean autoConverge,
                      Boolean xbzrle, String compression, ConvergenceTuning convergence, int specificity,
                      Instant createdAt,
                      Instant updatedAt) {

        static PolicyView of(MigrationPolicy p) {
            PolicySettings s = p.settings();
            RequestedConvergence c = s.convergence();
            return new PolicyView(p.name(), p.description(), p.guestSelector(), p.hostSelector(),
                    s.destinationSelector() == null ? Map.of() : s.destinationSelector(), s.maxBandwidth(),
                    s.downtimeLimitMs(), s.downtimeRamp() == null ? null : s.downtimeRamp().steps().stream()
                            .map(r -> new RampStepView(r.afterSeconds(), r.downtimeLimitMs())).toList(),
                    s.completionTimeoutPerGiB(), s.progressTimeout(), s.allowPostcopy(),
                    s.storage() == null ? null : s.storage().apiName(),
                    s.priority() == null ? null : s.priority().apiName(),
                    s.escalation() == null ? null : s.escalation().stream().map(EscalationStep::apiName).toList(),
                    s.escalationGrace(), s.verifyChecksums(), c.autoConverge(), c.xbzrle(),
                    c.compression() == null ? null : c.compression().apiName(), c.tuning(), p.specificity(),
                    p.createdAt(), p.updatedAt());
        }
    }

    @GetMapping
    List<PolicyView> list() {
        return policies.list().stream().map(PolicyView::of).toList();
    }

    @GetMapping("/{name}")
    PolicyView get(@PathVariable String name) {
        return policies.find(name).map(PolicyView::of).orElseThrow(() -> notFound(name));
    }

    @PostMapping
    ResponseEntity<PolicyView> create(@Valid @RequestBody PolicyRequest body, Principal principal) {
        if (body.name() == null) {
            throw new InvalidRequestException("name", "must not be null");
        }
        MigrationPolicy created = policies.create(body.name(), body.description(), body.guestLabels(),
                body.hostLabels(), body.settings(), Requests.actor(principal));
        return ResponseEntity.created(URI.create("/api/v1/policies/" + created.name())).body(PolicyView.of(created));
    }

    @PutMapping("/{name}")
    ResponseEntity<PolicyView> put(@PathVariable String name, @Valid @RequestBody PolicyRequest body,
                                   Principal principal) {
        if (!name.matches(NAME)) {
            throw new InvalidRequestException("name", PolicyRequest.NAME_RULE);
        }
        if (body.name() != null && !body.name().equals(name)) {
            throw new InvalidRequestException("name", "'" + body.name() + "' differs from the path's '" + name + "'");
        }
        boolean created = policies.put(name, body.description(), body.guestLabels(), body.hostLabels(),
                body.settings(), Requests.actor(principal));
        PolicyView view = PolicyView.of(policies.find(name).orElseThrow());
        return created ? ResponseEntity.created(URI.create("/api/v1/policies/" + name)).body(view)
                : ResponseEntity.ok(view);
    }

    @DeleteMapping("/{name}")
    ResponseEntity<Void> delete(@PathVariable String name, Principal principal) {
        if (!policies.delete(name, Requests.actor(principal))) {
            throw notFound(name);
        }
        return ResponseEntity.noContent().build();
    }

    private static ResourceNotFoundException notFound(String name) {
        return new ResourceNotFoundException("policy '" + name + "' does not exist");
    }
}
