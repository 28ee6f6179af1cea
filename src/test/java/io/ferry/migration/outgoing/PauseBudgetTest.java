package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PauseBudgetTest {

    @Test
    void thePausesFixedPartCountsChecksumsOnBothHostsAndTheHandOff() {
        PauseBudget budget = new PauseBudget(() -> 2.0, System::nanoTime);   // SHA-256 at 500 MB/s
        assertThat(budget.fixedMs()).as("nothing but pages").isZero();

        budget.verifying(256L << 20);
        long checksums = (long) Math.ceil(2 * (256L << 20) * 2.0 / 1e6);   // both hosts, one after the other
        assertThat(budget.fixedMs()).isEqualTo(checksums);

        budget.withDisks();
        budget.flushed(7_000_000);
        budget.controlPlaneRoundTrip(20_000_000);
        // the last flush, then one round trip on each side of the hand-off
        assertThat(budget.fixedMs()).isBetween(checksums + 46, checksums + 48);
    }

    @Test
    void aPauseSaysWhereItsTimeWentLargestFirst() {
        long[] now = {1_000_000_000L};
        PauseBudget budget = new PauseBudget(() -> 2.0, () -> now[0]);
        budget.paused();
        now[0] += 2_000_000;
        budget.took(PauseBudget.Part.LAST_PAGES);
        now[0] += 40_000_000;
        budget.took(PauseBudget.Part.VERIFICATION);
        budget.took(PauseBudget.Part.DESTINATION);
        now[0] += 3_000_000;
        budget.took(PauseBudget.Part.LAST_PAGES);   // a part may take time twice: it adds up

        assertThat(budget.explain()).isEqualTo("checksums on the source 40 ms, last pages and chunks 5 ms, "
                + "destination (load, checks, activation, resume) 0 ms");
    }
}
