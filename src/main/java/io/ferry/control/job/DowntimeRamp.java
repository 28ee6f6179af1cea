package io.ferry.control.job;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Raises a running job's downtime limit in steps (oVirt's convergence schedule, libvirt's
 * migrate-setmaxdowntime over time): {@code afterSeconds} after the job started, the limit
 * becomes {@code downtimeLimitMs}. Steps are kept in time order.
 */
public record DowntimeRamp(List<Step> steps) {

    public record Step(long afterSeconds, long downtimeLimitMs) {
    }

    public static final DowntimeRamp NONE = new DowntimeRamp(List.of());

    public DowntimeRamp {
        steps = steps.stream().sorted(Comparator.comparingLong(Step::afterSeconds)).toList();
    }

    public boolean isEmpty() {
        return steps.isEmpty();
    }

    /** The stored form: {@code afterSeconds:downtimeLimitMs} pairs joined by commas. */
    public String format() {
        return steps.stream().map(s -> s.afterSeconds() + ":" + s.downtimeLimitMs()).collect(Collectors.joining(","));
    }

    public static DowntimeRamp parse(String stored) {
        if (stored == null || stored.isBlank()) {
            return NONE;
        }
        return new DowntimeRamp(Arrays.stream(stored.split(",")).map(pair -> {
            String[] parts = pair.split(":");
            return new Step(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
        }).toList());
    }
}
