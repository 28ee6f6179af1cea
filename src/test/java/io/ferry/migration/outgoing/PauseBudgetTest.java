package io.ferry.migration.outgoing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PauseBudgetTest {

    @Test
    void thePausesFixedPartCountsChecksumsOnBothHostsAndTheHandOff() {
        PauseBudget budget = new PauseBudget(() -> 2.0);   // SHA-256 at 500 MB/s
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
    void aPauseSaysWhereItsTimeWentLargestFirst() throws InterruptedException {
        PauseBudget budget = new PauseBudget();
        assertThat(budget.largest()).isNull();
        budget.paused();
        Thread.sleep(2);
        budget.took(PauseBudget.Part.LAST_PAGES);
        Thread.sleep(40);
        budget.took(PauseBudget.Part.VERIFICATION);
        budget.took(PauseBudget.Part.DESTINATION);

        assertThat(budget.largest()).isEqualTo(PauseBudget.Part.VERIFICATION);
        assertThat(budget.explain()).startsWith("checksums on the source ")
                .contains("last pages and chunks ", "destination (load, checks, activation, resume) ");
    }
}
