package io.ferry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.bench.PrecopyBenchmark.Cell;
import io.ferry.bench.PrecopyBenchmark.Run;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ferry bench} end to end through real child processes ({@code java -cp <this class path>
 * io.ferry.FerryApplication bench-endpoint …}): a tiny guest, one channel, one run per cell. Only
 * that every line parsed and every guest arrived equal is asserted; timings are the benchmark's
 * to report, never a test's.
 */
class PrecopyBenchmarkProcessesTest {

    private static final long SIZE = 32L << 20;

    @TempDir
    Path logs;

    @Test
    @Timeout(180)
    void everyCellMigratesBetweenTwoProcessesAndArrivesEqual() throws Exception {
        PrecopyBenchmark bench = new PrecopyBenchmark();
        new CommandLine(bench).parseArgs("--sizes", "32m", "--channels", "1", "--repeat", "1",
                "--java-options", "-Xmx128m");
        ByteArrayOutputStream progress = new ByteArrayOutputStream();

        List<Cell> cells = bench.measure(List.of(SIZE), new PrintStream(progress, true, StandardCharsets.UTF_8), logs);

        assertThat(cells).extracting(Cell::kind)
                .containsExactly(PrecopyBenchmark.RAW, PrecopyBenchmark.RAW_MEMORY, PrecopyBenchmark.RANDOM,
                        PrecopyBenchmark.ZERO);
        for (Cell cell : cells) {
            assertThat(cell.bytes()).isEqualTo(SIZE);
            assertThat(cell.runs()).hasSize(1);
            Run run = cell.runs().get(0);
            assertThat(run.phase()).as(cell.kind()).isEqualTo("COMPLETED");
            assertThat(run.checksumsEqual()).as(cell.kind()).isTrue();
            assertThat(run.seconds()).as(cell.kind()).isPositive();
            // process CPU time grows in scheduler ticks (10 ms): receiving 32 MiB of raw TCP can take less than
            // one, so a figure of 0 is a measurement, not a fault (it was, once, beside stress-ng)
            assertThat(run.sendCpuNanos()).as(cell.kind()).isNotNegative();
            assertThat(run.receiveCpuNanos()).as(cell.kind()).isNotNegative();
        }
        for (Cell migrated : cells.subList(2, cells.size())) {
            assertThat(migrated.channels()).isEqualTo(1);
            assertThat(migrated.first().iterations()).isPositive();
            assertThat(migrated.first().downtimeMs()).isNotNegative();
        }
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        PrecopyBenchmark.table(new PrintStream(table, true, StandardCharsets.UTF_8), cells);
        assertThat(table.toString(StandardCharsets.UTF_8)).contains("raw loopback TCP", "raw TCP, memory", "random", "zero");
    }
}
