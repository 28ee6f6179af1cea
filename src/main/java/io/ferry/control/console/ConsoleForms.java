package io.ferry.control.console;

import io.ferry.control.system.Labels;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Form values as an operator types them: sizes with binary units ({@code 256M}, {@code 1G},
 * {@code 4096}), labels as {@code key=value, key=value}. A value that does not parse is refused
 * naming its field, before any service is asked.
 */
final class ConsoleForms {

    private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);

    private ConsoleForms() {
    }

    /** Bytes of a size such as {@code 256M} (MiB), {@code 1G} (GiB), {@code 4096}; null when blank. */
    static Long size(String field, String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new ConsoleErrors.FormException(field, "'" + text.strip()
                    + "' is not a size: write bytes or a number with K, M, G or T (binary: 1M = 1 MiB)");
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new ConsoleErrors.FormException(field, "'" + text.strip() + "' is too large");
        }
        return n << shift;
    }

    static Long integer(String field, String text, long min, long max) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            long n = Long.parseLong(text.strip());
            if (n < min || n > max) {
                throw new ConsoleErrors.FormException(field, "must be between " + min + " and " + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ConsoleErrors.FormException(field, "'" + text.strip() + "' is not a whole number");
        }
    }

    /** A whole number as typed, null when blank; its range is the rules' business, not the form's. */
    static Long integer(String field, String text) {
        return integer(field, text, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /** A decimal number as typed, null when blank; its range is the rules' business, not the form's. */
    static Double decimal(String field, String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            double d = Double.parseDouble(text.strip());
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new ConsoleErrors.FormException(field, "'" + text.strip() + "' is not a number");
        }
    }

    /** {@code key=value, key=value} (commas or new lines), checked by the label rules of the API. */
    static Map<String, String> labels(String field, String text) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (text == null || text.isBlank()) {
            return labels;
        }
        for (String pair : text.split("[,\\n]")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq < 1) {
                throw new ConsoleErrors.FormException(field, "'" + pair.strip() + "' is not key=value");
            }
            labels.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip());
        }
        String problem = Labels.problem(labels);
        if (problem != null) {
            throw new ConsoleErrors.FormException(field, problem);
        }
        return labels;
    }

    /** {@code name=value, name=value} in the order given, names unique (RAM blocks, disks). */
    static Map<String, String> pairs(String field, String text) {
        Map<String, String> pairs = new LinkedHashMap<>();
        if (text == null || text.isBlank()) {
            return pairs;
        }
        for (String pair : text.split("[,\\n]")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq < 1) {
                throw new ConsoleErrors.FormException(field, "'" + pair.strip() + "' is not name=size");
            }
            String name = pair.substring(0, eq).strip();
            if (!name.matches("[\\x21-\\x7e]{1,255}")) {
                throw new ConsoleErrors.FormException(field, "'" + name + "' must be printable ASCII without spaces");
            }
            if (pairs.put(name, pair.substring(eq + 1).strip()) != null) {
                throw new ConsoleErrors.FormException(field, "'" + name + "' is named twice");
            }
        }
        return pairs;
    }

    static String labelsText(Map<String, String> labels) {
        return labels == null ? "" : String.join(", ", labels.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).toList());
    }
}
