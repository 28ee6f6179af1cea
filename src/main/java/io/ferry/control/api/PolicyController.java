package io.ferry.control.api;

import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.JobPriority;
import io.ferry.channel.StorageMode;
import io.ferry.control.policy.MigrationPolicy;
import io.ferry.control.policy.PolicyService;
import io.ferry.control.policy.PolicySettings;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;
import java.net.URI;
import java.security.Principal;
import java.time.Instant;
import java.util.HashSet;
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

    static final String NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

    private final PolicyService policies;

    PolicyController(PolicyService policies) {
        this.policies = policies;
    }

    record RampStepBody(@NotNull @PositiveOrZero @Max(86_400) Long afterSeconds,
                        @NotNull @Min(1) @Max(3_600_000) Long downtimeLimitMs) {
    }

    record PolicyBody(
            @Pattern(regexp = NAME, message = "must be a lower-case DNS label (a-z, 0-9, '-', at most 63)") String name,
            @Size(max = 1024) String description,
            Map<String, String> guestSelector,
            Map<String, String> hostSelector,
            Map<String, String> destinationSelector,
            @PositiveOrZero Long maxBandwidth,
            @Min(1) @Max(3_600_000) Long downtimeLimitMs,
            @Valid @Size(max = 16) List<@NotNull @Valid RampStepBody> downtimeRamp,
            @Positive @Max(86_400) Long completionTimeoutPerGiB,
            @Positive @Max(86_400) Long progressTimeout,
            Boolean allowPostcopy,
            @Pattern(regexp = "shared|copy", message = "must be 'shared' or 'copy'") String storage,
            @Pattern(regexp = "system|user|maintenance", message = "must be 'system', 'user' or 'maintenance'")
            String priority,
            @Size(min = 1, max = 3) List<@NotNull @Pattern(regexp = "postcopy|pause|abort",
                    message = "must be 'postcopy', 'pause' or 'abort'") String> escalation,
            @Positive @Max(3600) Long escalationGrace,
            Boolean verifyChecksums) {
    }

    record RampStepView(long afterSeconds, long downtimeLimitMs) {
    }

    record PolicyView(String name, String description, Map<String, String> guestSelector,
                      Map<String, String> hostSelector, Map<String, String> destinationSelector, Long maxBandwidth,
                      Long downtimeLimitMs, List<RampStepView> downtimeRamp, Long completionTimeoutPerGiB,
                      Long progressTimeout, Boolean allowPostcopy, String storage, String priority,
                      List<String> escalation, Long escalationGrace, Boolean verifyChecksums, int specificity,
                      Instant createdAt,
                      Instant updatedAt) {

        static PolicyView of(MigrationPolicy p) {
            PolicySettings s = p.settings();
            return new PolicyView(p.name(), p.description(), p.guestSelector(), p.hostSelector(),
                    s.destinationSelector() == null ? Map.of() : s.destinationSelector(), s.maxBandwidth(),
                    s.downtimeLimitMs(), s.downtimeRamp() == null ? null : s.downtimeRamp().steps().stream()
                            .map(r -> new RampStepView(r.afterSeconds(), r.downtimeLimitMs())).toList(),
                    s.completionTimeoutPerGiB(), s.progressTimeout(), s.allowPostcopy(),
                    s.storage() == null ? null : s.storage().apiName(),
                    s.priority() == null ? null : s.priority().apiName(),
                    s.escalation() == null ? null : s.escalation().stream().map(EscalationStep::apiName).toList(),
                    s.escalationGrace(), s.verifyChecksums(), p.specificity(), p.createdAt(), p.updatedAt());
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
    ResponseEntity<PolicyView> create(@Valid @RequestBody PolicyBody body, Principal principal) {
        if (body.name() == null) {
            throw new InvalidRequestException("name", "must not be null");
        }
        MigrationPolicy created = policies.create(body.name(), body.description(),
                Requests.labels("guestSelector", body.guestSelector()),
                Requests.labels("hostSelector", body.hostSelector()), settings(body), Requests.actor(principal));
        return ResponseEntity.created(URI.create("/api/v1/policies/" + created.name())).body(PolicyView.of(created));
    }

    @PutMapping("/{name}")
    ResponseEntity<PolicyView> put(@PathVariable String name, @Valid @RequestBody PolicyBody body,
                                   Principal principal) {
        if (!name.matches(NAME)) {
            throw new InvalidRequestException("name", "must be a lower-case DNS label (a-z, 0-9, '-', at most 63)");
        }
        if (body.name() != null && !body.name().equals(name)) {
            throw new InvalidRequestException("name", "'" + body.name() + "' differs from the path's '" + name + "'");
        }
        boolean created = policies.put(name, body.description(), Requests.labels("guestSelector", body.guestSelector()),
                Requests.labels("hostSelector", body.hostSelector()), settings(body), Requests.actor(principal));
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

    private static PolicySettings settings(PolicyBody b) {
        List<EscalationStep> ladder = b.escalation() == null ? null
                : b.escalation().stream().map(EscalationStep::fromApiName).toList();
        if (ladder != null && new HashSet<>(ladder).size() != ladder.size()) {
            throw new InvalidRequestException("escalation", "each step may appear once");
        }
        if (ladder != null && ladder.contains(EscalationStep.POSTCOPY) && Boolean.FALSE.equals(b.allowPostcopy())) {
            throw new InvalidRequestException("escalation", "'postcopy' needs allowPostcopy (it is false)");
        }
        return new PolicySettings(b.maxBandwidth(), b.downtimeLimitMs(),
                b.downtimeRamp() == null ? null : new DowntimeRamp(b.downtimeRamp().stream()
                        .map(r -> new DowntimeRamp.Step(r.afterSeconds(), r.downtimeLimitMs())).toList()),
                b.completionTimeoutPerGiB(), b.progressTimeout(), b.allowPostcopy(),
                b.storage() == null ? null : StorageMode.fromApiName(b.storage()),
                b.priority() == null ? null : JobPriority.fromApiName(b.priority()), ladder, b.escalationGrace(),
                b.destinationSelector() == null ? null : Requests.labels("destinationSelector", b.destinationSelector()),
                b.verifyChecksums());
    }
}
