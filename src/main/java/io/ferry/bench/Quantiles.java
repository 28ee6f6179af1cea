package io.ferry.bench;

import java.util.Arrays;

/** p50, p99 and max of measured values, by the nearest-rank rule. */
record Quantiles(double p50, double p99, double max, int count) {

    static final Quantiles NONE = new Quantiles(0, 0, 0, 0);

    /** Of {@code values} (sorted here, in place) divided by {@code unit}: 1e6 turns nanoseconds into ms. */
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
