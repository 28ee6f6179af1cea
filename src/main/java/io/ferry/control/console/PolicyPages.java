package io.ferry.control.console;

import io.ferry.control.admission.AdmissionService;
import io.ferry.control.admission.Limits;
import io.ferry.control.admission.LimitsRequest;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostNotFoundException;
import io.ferry.control.host.HostService;
import io.ferry.control.job.ConvergenceTuning;
import io.ferry.control.job.DowntimeRamp;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.control.policy.MigrationPolicy;
import io.ferry.control.policy.PolicyRequest;
import io.ferry.control.policy.PolicyService;
import io.ferry.control.policy.PolicySettings;
import io.ferry.control.system.InvalidFieldException;
import io.ferry.control.system.ResourceConflictException;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validator;
import java.security.Principal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;

/**
 * Policies and admission limits: the list, and (admin) a policy's create and edit form and the
 * limits forms. A form is read into the API's own request records ({@link PolicyRequest},
 * {@link LimitsRequest}), checked by the same validator and the same cross-field rules, and
 * saved through the same services; each refusal is shown next to its field.
 */
@Controller
class PolicyPages {

    private final PolicyService policies;
    private final AdmissionService admission;
    private final HostService hosts;
    private final Validator validator;

    PolicyPages(PolicyService policies, AdmissionService admission, HostService hosts, Validator validator) {
        this.policies = policies;
        this.admission = admission;
        this.hosts = hosts;
        this.validator = validator;
    }

    /** What is wrong with a form, by field (the form's field names, which are the API's). */
    static final class FieldErrors {
        private final Map<String, String> byField = new LinkedHashMap<>();

        /** Reads one value; a value that does not parse is noted against its field and read as null. */
        <T> T read(Supplier<T> parse) {
            try {
                return parse.get();
            } catch (ConsoleErrors.FormException e) {
                add(e.field(), e.getMessage());
                return null;
            } catch (InvalidFieldException e) {
                add(e.field(), e.reason());
                return null;
            }
        }

        void add(String path, String message) {
            byField.putIfAbsent(formField(path), message);
        }

        void addAll(Set<? extends ConstraintViolation<?>> violations) {
            violations.stream().sorted(java.util.Comparator.comparing(v -> v.getPropertyPath().toString()))
                    .forEach(v -> add(v.getPropertyPath().toString(), pathDetail(v.getPropertyPath().toString())
                            + v.getMessage()));
        }

        boolean any() {
            return !byField.isEmpty();
        }

        Map<String, String> map() {
            return byField;
        }

        /** {@code downtimeRamp[1].afterSeconds} is shown at the ramp's field, saying which step. */
        static String formField(String path) {
            int cut = path.length();
            for (char c : new char[] {'[', '.'}) {
                int i = path.indexOf(c);
                if (i > 0 && i < cut) {
                    cut = i;
                }
            }
            return path.substring(0, cut);
        }

        private static String pathDetail(String path) {
            return path.equals(formField(path)) ? "" : path + " ";
        }
    }

    @org.springframework.web.bind.annotation.ModelAttribute("fields")
    List<PolicyFields.Field> fields() {
        return PolicyFields.ALL;
    }

    @GetMapping("/console/policies")
    String list(Model model) {
        model.addAttribute("policies", policies.list());
        limitsModel(model, admission.limits());
        return "console/policies";
    }

    private void limitsModel(Model model, Limits limits) {
        model.addAttribute("limits", limits);
        model.addAttribute("hostIds", hosts.list().stream().map(Host::id).toList());
        if (!model.containsAttribute("limitsForm")) {
            model.addAttribute("limitsForm", Map.of("maxJobs", String.valueOf(limits.maxJobs()),
                    "maxOutboundPerHost", String.valueOf(limits.maxOutboundPerHost()),
                    "maxInboundPerHost", String.valueOf(limits.maxInboundPerHost())));
        }
        model.addAttribute("limitsErrors", model.containsAttribute("limitsErrors")
                ? model.getAttribute("limitsErrors") : Map.of());
        model.addAttribute("hostLimitsErrors", model.containsAttribute("hostLimitsErrors")
                ? model.getAttribute("hostLimitsErrors") : Map.of());
        if (!model.containsAttribute("hostLimitsForm")) {
            model.addAttribute("hostLimitsForm", Map.of());
        }
    }

    @GetMapping("/console/policies/new")
    String newPolicy(Model model) {
        model.addAttribute("form", Map.of());
        model.addAttribute("errors", Map.of());
        model.addAttribute("existing", null);
        model.addAttribute("pageTitle", "New policy");
        return "console/policy";
    }

    @GetMapping("/console/policies/{name}")
    String policy(@PathVariable String name, Model model) {
        MigrationPolicy p = find(name);
        model.addAttribute("form", formOf(p));
        model.addAttribute("errors", Map.of());
        model.addAttribute("existing", p);
        model.addAttribute("pageTitle", "Policy " + p.name());
        return "console/policy";
    }

    /** Creates a policy (POST /api/v1/policies): a name already taken is refused at the name. */
    @PostMapping("/console/policies")
    String create(@RequestParam Map<String, String> form, Principal principal, HttpServletResponse response,
                  Model model) {
        FieldErrors errors = new FieldErrors();
        PolicyRequest request = request(form, form.getOrDefault("name", "").strip(), errors);
        if (request != null && request.name() == null) {
            errors.add("name", "give the policy a name");
        }
        if (!errors.any()) {
            try {
                policies.create(request.name(), request.description(), request.guestLabels(), request.hostLabels(),
                        request.settings(), ConsoleModel.actor(principal));
                return "redirect:/console/policies/" + request.name() + "?saved";
            } catch (InvalidFieldException e) {
                errors.add(e.field(), e.reason());
            } catch (ResourceConflictException e) {
                errors.add("name", "a policy of this name already exists: edit it instead");
            }
        }
        return refused(form, errors, null, response, model);
    }

    /** Replaces a policy's definition (PUT /api/v1/policies/{name}). */
    @PostMapping("/console/policies/{name}")
    String edit(@PathVariable String name, @RequestParam Map<String, String> form, Principal principal,
                HttpServletResponse response, Model model) {
        MigrationPolicy existing = find(name);
        FieldErrors errors = new FieldErrors();
        PolicyRequest request = request(form, name, errors);
        if (!errors.any()) {
            try {
                policies.put(name, request.description(), request.guestLabels(), request.hostLabels(),
                        request.settings(), ConsoleModel.actor(principal));
                return "redirect:/console/policies/" + name + "?saved";
            } catch (InvalidFieldException e) {
                errors.add(e.field(), e.reason());
            }
        }
        return refused(form, errors, existing, response, model);
    }

    private static String refused(Map<String, String> form, FieldErrors errors, MigrationPolicy existing,
                                  HttpServletResponse response, Model model) {
        response.setStatus(HttpServletResponse.SC_BAD_REQUEST);
        model.addAttribute("form", form);
        model.addAttribute("errors", errors.map());
        model.addAttribute("existing", existing);
        model.addAttribute("pageTitle", existing != null ? "Policy " + existing.name() : "New policy");
        return "console/policy";
    }

    /** The form as the API's request, checked by its constraints; null (errors noted) when it is not one. */
    private PolicyRequest request(Map<String, String> form, String name, FieldErrors errors) {
        PolicyRequest request = new PolicyRequest(name.isEmpty() ? null : name,
                blankToNull(form.get("description")),
                errors.read(() -> ConsoleForms.labels("guestSelector", form.get("guestSelector"))),
                errors.read(() -> ConsoleForms.labels("hostSelector", form.get("hostSelector"))),
                errors.read(() -> blank(form.get("destinationSelector")) ? null
                        : ConsoleForms.labels("destinationSelector", form.get("destinationSelector"))),
                errors.read(() -> ConsoleForms.size("maxBandwidth", form.get("maxBandwidth"))),
                errors.read(() -> ConsoleForms.integer("downtimeLimitMs", form.get("downtimeLimitMs"))),
                errors.read(() -> ramp(form.get("downtimeRamp"))),
                errors.read(() -> ConsoleForms.integer("completionTimeoutPerGiB", form.get("completionTimeoutPerGiB"))),
                errors.read(() -> ConsoleForms.integer("progressTimeout", form.get("progressTimeout"))),
                choice(form.get("allowPostcopy")),
                blankToNull(form.get("storage")),
                blankToNull(form.get("priority")),
                blank(form.get("escalation")) ? null
                        : List.of(form.get("escalation").strip().split("\\s*[,→>\\s]\\s*")),
                errors.read(() -> ConsoleForms.integer("escalationGrace", form.get("escalationGrace"))),
                choice(form.get("verifyChecksums")),
                choice(form.get("autoConverge")),
                choice(form.get("xbzrle")),
                blankToNull(form.get("compression")),
                errors.read(() -> tuning(form)));
        errors.addAll(validator.validate(request));
        if (!errors.any()) {
            errors.read(() -> {
                request.guestLabels();
                request.hostLabels();
                return request.settings();
            });
        }
        return request;
    }

    /** {@code 30=500, 120=1000}: from 30 s into the job a 500 ms limit, from 120 s 1000 ms. */
    private static List<PolicyRequest.RampStep> ramp(String text) {
        if (blank(text)) {
            return null;
        }
        List<PolicyRequest.RampStep> steps = new ArrayList<>();
        for (Map.Entry<String, String> step : ConsoleForms.pairs("downtimeRamp", text).entrySet()) {
            steps.add(new PolicyRequest.RampStep(
                    ConsoleForms.integer("downtimeRamp", step.getKey().replaceFirst("s$", "")),
                    ConsoleForms.integer("downtimeRamp", step.getValue().replaceFirst("ms$", ""))));
        }
        return steps;
    }

    /** A policy as its form shows it, in the words the form takes back. */
    static Map<String, String> formOf(MigrationPolicy p) {
        PolicySettings s = p.settings();
        Map<String, String> f = new LinkedHashMap<>();
        f.put("name", p.name());
        f.put("description", p.description() == null ? "" : p.description());
        f.put("guestSelector", ConsoleForms.labelsText(p.guestSelector()));
        f.put("hostSelector", ConsoleForms.labelsText(p.hostSelector()));
        f.put("destinationSelector", ConsoleForms.labelsText(s.destinationSelector()));
        f.put("maxBandwidth", s.maxBandwidth() == null ? "" : sizeText(s.maxBandwidth()));
        f.put("downtimeLimitMs", text(s.downtimeLimitMs()));
        f.put("downtimeRamp", s.downtimeRamp() == null || s.downtimeRamp().isEmpty() ? ""
                : String.join(", ", s.downtimeRamp().steps().stream()
                .map((DowntimeRamp.Step r) -> r.afterSeconds() + "=" + r.downtimeLimitMs()).toList()));
        f.put("completionTimeoutPerGiB", text(s.completionTimeoutPerGiB()));
        f.put("progressTimeout", text(s.progressTimeout()));
        f.put("allowPostcopy", s.allowPostcopy() == null ? "" : s.allowPostcopy().toString());
        f.put("storage", s.storage() == null ? "" : s.storage().apiName());
        f.put("priority", s.priority() == null ? "" : s.priority().apiName());
        f.put("escalation", s.escalation() == null ? ""
                : String.join(", ", s.escalation().stream().map(EscalationStep::apiName).toList()));
        f.put("escalationGrace", text(s.escalationGrace()));
        f.put("verifyChecksums", s.verifyChecksums() == null ? "" : s.verifyChecksums().toString());
        RequestedConvergence c = s.convergence();
        f.put("autoConverge", c.autoConverge() == null ? "" : c.autoConverge().toString());
        f.put("xbzrle", c.xbzrle() == null ? "" : c.xbzrle().toString());
        f.put("compression", c.compression() == null ? "" : c.compression().apiName());
        ConvergenceTuning t = c.tuning();
        f.put("convergence.cpuThrottleInitial", text(t.cpuThrottleInitial()));
        f.put("convergence.cpuThrottleIncrement", text(t.cpuThrottleIncrement()));
        f.put("convergence.maxCpuThrottle", text(t.maxCpuThrottle()));
        f.put("convergence.cpuThrottleTailslow", t.cpuThrottleTailslow() == null ? "" : t.cpuThrottleTailslow().toString());
        f.put("convergence.xbzrleCacheSize", t.xbzrleCacheSize() == null ? "" : sizeText(t.xbzrleCacheSize()));
        f.put("convergence.compressionLevel", text(t.compressionLevel()));
        return f;
    }

    /** Sets the cluster's admission limits (PUT /api/v1/admission/limits); a blank field goes back to the configuration's. */
    @PostMapping("/console/admission/limits")
    String limits(@RequestParam Map<String, String> form, Principal principal, HttpServletResponse response,
                  Model model) {
        FieldErrors errors = new FieldErrors();
        LimitsRequest request = new LimitsRequest(
                errors.read(() -> intOrNull("maxJobs", form.get("maxJobs"))),
                errors.read(() -> intOrNull("maxOutboundPerHost", form.get("maxOutboundPerHost"))),
                errors.read(() -> intOrNull("maxInboundPerHost", form.get("maxInboundPerHost"))));
        errors.addAll(validator.validate(request));
        if (errors.any()) {
            response.setStatus(HttpServletResponse.SC_BAD_REQUEST);
            model.addAttribute("limitsForm", form);
            model.addAttribute("limitsErrors", errors.map());
            model.addAttribute("policies", policies.list());
            limitsModel(model, admission.limits());
            return "console/policies";
        }
        admission.setClusterLimits(request.maxJobs(), request.maxOutboundPerHost(), request.maxInboundPerHost(),
                ConsoleModel.actor(principal));
        return "redirect:/console/policies?limitsSaved";
    }

    /** Sets one host's limits (PUT /api/v1/hosts/{id}/limits); blank goes back to the cluster's per-host value. */
    @PostMapping("/console/admission/hosts")
    String hostLimits(@RequestParam Map<String, String> form, Principal principal, HttpServletResponse response,
                      Model model) {
        FieldErrors errors = new FieldErrors();
        String hostId = form.getOrDefault("hostId", "").strip();
        if (hosts.find(hostId).isEmpty()) {
            errors.add("hostId", hostId.isEmpty() ? "choose a host" : new HostNotFoundException(hostId).getMessage());
        }
        LimitsRequest.ForHost request = new LimitsRequest.ForHost(
                errors.read(() -> intOrNull("maxOutbound", form.get("maxOutbound"))),
                errors.read(() -> intOrNull("maxInbound", form.get("maxInbound"))));
        errors.addAll(validator.validate(request));
        if (errors.any()) {
            response.setStatus(HttpServletResponse.SC_BAD_REQUEST);
            model.addAttribute("hostLimitsForm", form);
            model.addAttribute("hostLimitsErrors", errors.map());
            model.addAttribute("policies", policies.list());
            limitsModel(model, admission.limits());
            return "console/policies";
        }
        admission.setHostLimits(hostId, request.maxOutbound(), request.maxInbound(), ConsoleModel.actor(principal));
        return "redirect:/console/policies?limitsSaved";
    }

    private MigrationPolicy find(String name) {
        return policies.find(name).orElseThrow(() -> new ConsoleErrors.NotFound("policy '" + name + "' does not exist"));
    }

    private static Integer intOrNull(String field, String text) {
        Long n = ConsoleForms.integer(field, text, Integer.MIN_VALUE, Integer.MAX_VALUE);
        return n == null ? null : n.intValue();
    }

    private static Boolean choice(String text) {
        return blank(text) ? null : Boolean.valueOf("true".equals(text.strip()));
    }

    private static boolean blank(String text) {
        return text == null || text.isBlank();
    }

    /** The convergence parameters typed in the form; null when every one is blank. */
    private static ConvergenceTuning tuning(Map<String, String> form) {
        ConvergenceTuning t = new ConvergenceTuning(
                intOrNull("convergence.cpuThrottleInitial", form.get("convergence.cpuThrottleInitial")),
                intOrNull("convergence.cpuThrottleIncrement", form.get("convergence.cpuThrottleIncrement")),
                intOrNull("convergence.maxCpuThrottle", form.get("convergence.maxCpuThrottle")),
                choice(form.get("convergence.cpuThrottleTailslow")),
                ConsoleForms.size("convergence.xbzrleCacheSize", form.get("convergence.xbzrleCacheSize")),
                intOrNull("convergence.compressionLevel", form.get("convergence.compressionLevel")));
        return t.equals(ConvergenceTuning.NONE) ? null : t;
    }

    private static String blankToNull(String text) {
        return blank(text) ? null : text.strip();
    }

    private static String text(Number n) {
        return n == null ? "" : n.toString();
    }

    /** Bytes as the form takes them back: the largest binary unit that divides them. */
    private static String sizeText(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            if (bytes != 0 && bytes % (1L << shifts[i]) == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return Long.toString(bytes);
    }
}
