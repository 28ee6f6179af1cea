package io.ferry.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** p50, p99 and max of measured values, by the nearest-rank rule. */
record Quantiles(double p50, double p99, double max, int count) {

    static final Quantiles NONE = new Quantiles(0, 0, 0, 0);

    /** Of {@code values} (sorted here, in place) divided by {@code unit}: 1e6 turns nanoseconds into ms. */
    /** The benchmarks' median run: the middle of {@code values} in {@code order}, the later one of an even count. */
    static <T> T median(List<T> values, Comparator<? super T> order) {
        List<T> sorted = new ArrayList<>(values);
        sorted.sort(order);
        return sorted.get(sorted.size() / 2);
    }

    static Quantiles of(long[] values, double unit) {
        int n = values.length;
        if (n == 0) {
            return NONE;
        }
        Arrays.sort(values);
        return new Quantiles(values[(int) Math.ceil(n * 0.50) - 1] / unit, values[(int) Math.ceil(n * 0.99) - 1] / unit,
                values[n - 1] / unit, n);
    }
}
