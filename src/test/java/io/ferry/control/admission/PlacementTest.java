package io.ferry.control.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.control.admission.Placement.Option;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementTest {

    private static final long GIB = 1L << 30;

    private static String choose(Option... options) {
        return Placement.choose(List.of(options)).map(Option::hostId).orElse(null);
    }

    @Test
    void theMostRoomAfterPromisedMovesWins() {
        // host-b has more free memory now, but moves already promise it most of that
        assertThat(choose(new Option("host-b", 10 * GIB, 7 * GIB, 1), new Option("host-c", 6 * GIB, 0, 3)))
                .isEqualTo("host-c");
    }

    @Test
    void equalRoomGoesToTheHostWithFewerJobsThenToTheFirstId() {
        assertThat(choose(new Option("host-b", 4 * GIB, 0, 2), new Option("host-c", 4 * GIB, 0, 1)))
                .isEqualTo("host-c");
        assertThat(choose(new Option("host-d", 4 * GIB, 0, 1), new Option("host-c", 4 * GIB, 0, 1)))
                .isEqualTo("host-c");
    }

    @Test
    void aDrainAskingForManyMovesAtOnceSpreadsThem() {
        // each move chosen is promised to its host before the next is placed (as queued jobs are)
        long[] promised = new long[3];
        int[] jobs = new int[3];
        String[] hosts = {"host-b", "host-c", "host-d"};
        int[] chosen = new int[3];
        for (int i = 0; i < 12; i++) {
            Option[] options = new Option[3];
            for (int h = 0; h < 3; h++) {
                options[h] = new Option(hosts[h], 8 * GIB, promised[h], jobs[h]);
            }
            int h = List.of(hosts).indexOf(choose(options));
            promised[h] += GIB / 4;
            jobs[h]++;
            chosen[h]++;
        }
        assertThat(chosen).containsExactly(4, 4, 4);
    }

    @Test
    void noOptionNoPlace() {
        assertThat(Placement.choose(List.of())).isEmpty();
    }
}
