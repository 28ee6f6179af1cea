package io.ferry.control.system;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * Labels (on hosts and guests) and selectors (in policies and drains) follow Kubernetes' rules,
 * so operators can copy them: a key is a name of up to 63 characters (letters, digits, '-',
 * '_', '.'), optionally prefixed by a DNS-like prefix and '/'; a value is up to 63 of the same
 * characters, possibly empty. A selector matches when every one of its pairs is in the labels.
 */
public final class Labels {

    public static final int MAX_LABELS = 32;
    private static final Pattern KEY = Pattern.compile(
            "([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");

    private Labels() {
    }

    /** Null when the map is valid, else what is wrong with it (for a 400's detail). */
    public static String problem(Map<String, String> labels) {
        if (labels == null) {
            return null;
        }
        if (labels.size() > MAX_LABELS) {
            return "at most " + MAX_LABELS + " labels";
        }
        for (Map.Entry<String, String> e : labels.entrySet()) {
            if (e.getKey() == null || !KEY.matcher(e.getKey()).matches()) {
                return "label key '" + e.getKey() + "' is not a valid name (letters, digits, '-', '_', '.', "
                        + "at most 63 characters, optionally prefixed by 'prefix/')";
            }
            if (e.getValue() == null || !VALUE.matcher(e.getValue()).matches()) {
                return "label value '" + e.getValue() + "' of '" + e.getKey() + "' is not valid (letters, digits, "
                        + "'-', '_', '.', at most 63 characters)";
            }
        }
        return null;
    }

    /** True when every pair of the selector is in the labels (an empty selector matches everything). */
    public static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }
}
