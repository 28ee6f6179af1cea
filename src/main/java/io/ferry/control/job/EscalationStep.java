package io.ferry.control.job;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One rung of a policy's escalation ladder, taken in order when a job's timeout fires: turn
 * auto-converge on (throttle the guest; skipped when it is on already), switch to post-copy
 * (skipped when the job may not), pause the guest so the copy finishes (Nova's force-complete),
 * or abort (cancel; the guest stays on the source).
 */
public enum EscalationStep {
    AUTO_CONVERGE("auto-converge"),
    POSTCOPY("postcopy"),
    PAUSE("pause"),
    ABORT("abort");

    private final String apiName;

    EscalationStep(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }

    public static EscalationStep fromApiName(String name) {
        return Arrays.stream(values()).filter(s -> s.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown escalation step '" + name
                        + "' (auto-converge, postcopy, pause or abort)"));
    }

    /** The stored form: names joined by commas, empty for no ladder. */
    public static String format(List<EscalationStep> ladder) {
        return ladder.stream().map(EscalationStep::apiName).collect(Collectors.joining(","));
    }

    public static List<EscalationStep> parse(String stored) {
        if (stored == null || stored.isBlank()) {
            return List.of();
        }
        return Arrays.stream(stored.split(",")).map(EscalationStep::fromApiName).toList();
    }
}
