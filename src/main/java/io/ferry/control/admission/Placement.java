package io.ferry.control.admission;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Where a guest goes when nobody named a destination (a drain): among the hosts that passed every
 * check, the one with the most free memory once the guests already promised to it (admitted or
 * queued moves) are counted, then the one with the fewest jobs in or out, then the first by id.
 * A pure function (see PlacementTest).
 */
public final class Placement {

    private Placement() {
    }

    /** A host that passed every check: its free memory now, what moves already promise it, its jobs. */
    public record Option(String hostId, long freeBytes, long promisedBytes, int jobs) {

        long roomAfterPromises() {
            return freeBytes - promisedBytes;
        }
    }

    public static Optional<Option> choose(List<Option> options) {
        return options.stream().min(Comparator.comparingLong(Option::roomAfterPromises).reversed()
                .thenComparingInt(Option::jobs)
                .thenComparing(Option::hostId));
    }
}
