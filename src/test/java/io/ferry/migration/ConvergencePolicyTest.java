package io.ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** QEMU's switchover rule, pending ≤ bandwidth × downtime limit, as a table. */
class ConvergencePolicyTest {

    @ParameterizedTest(name = "bulk done {0}, {1} B pending at {2} B/ms, limit {3} ms -> {4}")
    @CsvSource({
            // bulkDone, pendingBytes, bytesPerMs, limitMs, switch over?
            "true,  0,           1000,   300, true",    // nothing left
            "true,  300000,      1000,   300, true",    // exactly at the threshold
            "true,  300001,      1000,   300, false",   // one byte over
            "true,  40960,       0,      300, false",   // nothing measured yet: no bandwidth, no promise
            "false, 0,           1000,   300, false",   // the bulk round is not over
            "true,  134217728,   1000000, 300, true",   // 128 MiB at ~1 GB/s fits in 300 ms
            "true,  134217728,   100000,  300, false",  // ... but not at ~100 MB/s
            "true,  4096,        1000,   1,   false",   // a 1 ms limit needs 4 KiB to take < 1 ms
    })
    void switchesOverOnlyWhenTheRestFitsTheDowntimeLimit(boolean bulkDone, long pending, double bytesPerMs,
                                                         long limitMs, boolean expected) {
        assertThat(ConvergencePolicy.canSwitchOver(bulkDone, pending, bytesPerMs, limitMs)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"0, 0, 0", "1000, 1000, 1", "1001, 1000, 2", "4096, 0, " + Long.MAX_VALUE})
    void expectedDowntimeIsWhatTheRestTakesAtTheMeasuredBandwidth(long pending, double bytesPerMs, long expected) {
        assertThat(ConvergencePolicy.expectedDowntimeMs(pending, bytesPerMs)).isEqualTo(expected);
    }
}
