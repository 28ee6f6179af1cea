package io.ferry.control.console;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The policy form's fields, named as the API's {@code PolicyRequest} names them (so a refusal's
 * field is the form's), with what an operator types in each. The rules are not here: they are
 * {@link io.ferry.control.policy.PolicyRequest}'s.
 */
public final class PolicyFields {

    /** One field: a text input, or a select when it has choices (value → words). */
    public record Field(String name, String label, String example, String help, Map<String, String> choices) {
    }

    public static final List<Field> ALL = List.of(
            text("name", "Name", "gold-db", "a lower-case DNS label; it cannot change once created"),
            text("description", "Description", "databases of the gold tier", "optional, up to 1024 characters"),
            text("guestSelector", "Guests with labels", "tier=gold, app=db", "key=value, comma-separated; blank: every guest"),
            text("hostSelector", "Source hosts with labels", "zone=a", "blank: every host"),
            text("destinationSelector", "Destinations with labels", "zone=b", "where placement may put the guest; blank: anywhere"),
            text("maxBandwidth", "Max bandwidth", "64M", "bytes per second with binary units (64M = 64 MiB/s); 0 = unlimited"),
            text("downtimeLimitMs", "Downtime limit (ms)", "300", "1 to 3600000"),
            text("downtimeRamp", "Downtime ramp", "30=500, 120=1000", "seconds into the job = limit in ms, up to 16 steps"),
            text("completionTimeoutPerGiB", "Completion timeout (s per GiB)", "60", "1 to 86400"),
            text("progressTimeout", "Progress timeout (s)", "120", "1 to 86400"),
            choice("allowPostcopy", "Post-copy", "allowed", "off"),
            select("storage", "Storage", Map.of("", "request or default", "shared", "shared", "copy", "copy")),
            select("priority", "Priority", Map.of("", "request or default", "system", "system", "user", "user",
                    "maintenance", "maintenance")),
            text("escalation", "Escalation", "auto-converge, postcopy, abort",
                    "when a deadline passes: auto-converge, postcopy, pause, abort (in order, each once)"),
            text("escalationGrace", "Escalation grace (s)", "30", "1 to 3600"),
            choice("verifyChecksums", "Verify checksums", "yes", "no"),
            choice("autoConverge", "Auto-converge", "on", "off"),
            text("convergence.cpuThrottleInitial", "Initial CPU throttle (%)", "20", "1 to 99 (QEMU's default 20)"),
            text("convergence.cpuThrottleIncrement", "CPU throttle increment (%)", "10", "1 to 99 (QEMU's default 10)"),
            text("convergence.maxCpuThrottle", "Max CPU throttle (%)", "99", "1 to 99 (QEMU's default 99)"),
            choice("convergence.cpuThrottleTailslow", "Throttle tail-slow", "on", "off"),
            choice("xbzrle", "XBZRLE", "on", "off"),
            text("convergence.xbzrleCacheSize", "XBZRLE cache", "64M", "bytes with binary units (QEMU's default 64M)"),
            select("compression", "Compression", Map.of("", "request or default", "none", "none", "zstd", "zstd",
                    "lz4", "lz4")),
            text("convergence.compressionLevel", "Compression level", "1", "zstd 1 to 19, lz4 1 to 17 (default 1)"));

    private PolicyFields() {
    }

    private static Field text(String name, String label, String example, String help) {
        return new Field(name, label, example, help, null);
    }

    private static Field choice(String name, String label, String yes, String no) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("", "request or default");
        c.put("true", yes);
        c.put("false", no);
        return new Field(name, label, null, "", c);
    }

    private static Field select(String name, String label, Map<String, String> choices) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("", choices.get(""));
        choices.entrySet().stream().filter(e -> !e.getKey().isEmpty()).sorted(Map.Entry.comparingByKey())
                .forEach(e -> c.put(e.getKey(), e.getValue()));
        return new Field(name, label, null, "", c);
    }
}
