package io.ferry.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The metric names a Grafana dashboard's PromQL queries read, and the sample names a Prometheus
 * text exposition holds, so a test can check the one against the other.
 *
 * <p>Names are compared as samples, suffix included: a histogram is queried as
 * {@code x_bucket}, {@code x_count} or {@code x_sum} and a counter as {@code x_total}, which are
 * exactly the names of its sample lines; the family name of a histogram alone ({@code x}) has no
 * samples in Prometheus either, so a query on it would draw nothing and must fail the check.
 */
final class DashboardQueries {

    /** Words that read like names but are PromQL's own. */
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan", "atan2");
    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    private static final Pattern GROUPING =
            Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{[^}]*}|\\$\\w+");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.:])[A-Za-z_:][\\w:]*");

    private DashboardQueries() {
    }

    /** Every metric name in the {@code expr} of every target of every panel (nested rows included). */
    static Set<String> metricNames(Path dashboard) throws IOException {
        JsonNode root = new ObjectMapper().readTree(Files.readString(dashboard));
        Set<String> names = new TreeSet<>();
        for (JsonNode expr : root.findValues("expr")) {
            names.addAll(metricNames(expr.asString()));
        }
        return names;
    }

    /**
     * The metric names one PromQL expression reads: what is left once strings, label matchers,
     * ranges, grouping label lists and dashboard variables are gone, minus function and
     * aggregation names (an identifier followed by "(") and keywords.
     */
    static Set<String> metricNames(String expr) {
        String e = STRING.matcher(expr).replaceAll(" ");
        e = MATCHERS.matcher(e).replaceAll(" ");
        e = RANGE.matcher(e).replaceAll(" ");
        e = GROUPING.matcher(e).replaceAll(" ");
        e = VARIABLE.matcher(e).replaceAll(" ");
        Set<String> names = new TreeSet<>();
        Matcher m = IDENTIFIER.matcher(e);
        while (m.find()) {
            String word = m.group();
            int next = m.end();
            while (next < e.length() && Character.isWhitespace(e.charAt(next))) {
                next++;
            }
            boolean call = next < e.length() && e.charAt(next) == '(';
            if (!call && !KEYWORDS.contains(word.toLowerCase(java.util.Locale.ROOT))) {
                names.add(word);
            }
        }
        return names;
    }

    /** The names of the sample lines of a Prometheus text exposition (comments left out). */
    static Set<String> sampleNames(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int end = 0;
            while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
                end++;
            }
            names.add(line.substring(0, end));
        }
        return names;
    }
}
