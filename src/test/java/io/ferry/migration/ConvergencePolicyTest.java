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

    @ParameterizedTest(name = "round {0}: {2} B left after {1} B before -> will not converge {3}")
    @CsvSource({
            // iterations, previous pending, pending, will not converge?
            "1, 9223372036854775807, 900000000, false",   // after the bulk round nothing is known yet
            "2, 900000000, 900000000, true",              // as much left as before: the guest keeps up with the link
            "2, 900000000, 950000000, true",              // more left than before
            "2, 900000000, 600000000, false",             // shrinking: pre-copy may still get there
            "3, 2000, 2000, false",                       // not shrinking, but it fits the downtime limit now
    })
    void willNotConvergeOnceARoundLeavesNoLessThanTheOneBefore(int iterations, long previous, long pending,
                                                                boolean expected) {
        assertThat(ConvergencePolicy.willNotConverge(iterations, previous, pending, 1000, 300)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "limit {0} ms, fixed part {1} ms -> {2} ms for the pages")
    @CsvSource({
            "300, 0, 300",      // nothing besides the pages
            "300, 200, 100",    // checksums of ~100 MiB on both hosts leave 100 ms
            "300, 290, 30",     // never less than a tenth: the pages' part still shrinks before the switch
            "300, 900, 30",     // a fixed part over the limit alone: the job will say why it overran
    })
    void thePausesFixedPartComesOffThePagesBudget(long limitMs, long fixedMs, long expected) {
        assertThat(ConvergencePolicy.pagesBudgetMs(limitMs, fixedMs)).isEqualTo(expected);
    }
}
