package io.ferry.bench;

import io.ferry.bench.EndpointProcess.Line;
import io.ferry.guest.RamBlock;
import io.ferry.launch.FerryCommand;
import io.ferry.migration.loopback.EngineWarmUp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench}: pre-copy of an idle guest between two JVMs, as between two workers, next to
 * raw loopback TCP between two JVMs measured in the same run. The source and the destination are
 * each a {@link BenchEndpoint} process of this same Ferry; the destination is a new process for
 * every run, so its guest memory is memory it never touched, as on every real migration (on a VM
 * whose hypervisor backs memory lazily and takes freed memory back, that first touch is a large
 * part of the cost). A source serves all runs of one cell: a running guest's memory is populated.
 *
 * <p>Cells: every size, with random (seeded) and with all-zero memory, for every channel count;
 * optionally (c), a guest that keeps dirtying memory at a share of the random cell's bandwidth.
 * Each run's destination memory digest must equal the source's, else the benchmark fails: a
 * broken run cannot report a fast time. Per cell the first run (the cold one: the source's code
 * not compiled yet either) and the median: time, MiB/s, ratio to raw TCP's first run and median,
 * CPU seconds per GiB of both processes together, downtime. Runs close after each other are
 * faster than the first: the memory the last destination freed is still backed by the host;
 * {@code --settle-s} waits between runs so that every run starts as cold.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure pre-copy migration between two JVMs (a fresh destination every run) next to raw "
                + "loopback TCP between two JVMs.")
public final class PrecopyBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;
    private static final double GIB = 1 << 30;
    /** Beside two guests: the JVMs, the page cache, the OS. */
    private static final long HEADROOM = 1L << 30;
    private static final Duration START = Duration.ofMinutes(2);
    /** A source fills its guest and digests it before it is ready. */
    private static final Duration SETUP = Duration.ofMinutes(20);
    private static final Duration RUN = Duration.ofMinutes(30);
    private static final Duration DIGEST = Duration.ofMinutes(10);

    static final String RAW = "raw TCP";
    /** Raw TCP from a random-filled guest-sized RAM block into a pre-faulted one: a migration's memory traffic. */
    static final String RAW_MEMORY = "raw TCP, memory";
    static final String RANDOM = "random";
    static final String ZERO = "zero";
    static final String DIRTY = "dirty";

    @Option(names = {"--sizes", "--size"}, defaultValue = "1g,4g", split = ",",
            description = "Guest memory sizes, e.g. 1g,4g; 16g only when asked, and only with memory for both "
                    + "sides (default ${DEFAULT-VALUE})")
    List<String> sizes;

    @Option(names = "--channels", defaultValue = "1,2,4", split = ",",
            description = "Connections that carry pages (the job's channels), a cell each (default ${DEFAULT-VALUE})")
    List<Integer> channels;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Runs per cell, each into a new destination process; the first is reported apart as the "
                    + "cold one, next to the median of all (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--dirty-share", defaultValue = "0",
            description = "Case (c) too: a guest dirtying memory at this share of the random cell's median "
                    + "bandwidth, e.g. 0.2 (default ${DEFAULT-VALUE}: left out)")
    double dirtyShare;

    @Option(names = "--downtime-limit-ms", defaultValue = "300", description = "The jobs' downtime limit (default ${DEFAULT-VALUE})")
    long downtimeLimitMs;

    @Option(names = "--warm-up-mib", defaultValue = "" + EngineWarmUp.DEFAULT_MIB,
            description = "Each source and destination process first migrates a throw-away guest of this many MiB to "
                    + "itself, as a worker does before it registers (its JIT-compiled engine is what a migration "
                    + "meets); 0 shows the cost of a cold engine (default ${DEFAULT-VALUE})")
    int warmUpMib;

    @Option(names = "--settle-s", defaultValue = "0",
            description = "Seconds to wait after every run, e.g. 30: memory the last destination freed goes back to "
                    + "the host meanwhile (on a VM that reports free pages), so later runs start as cold as the first "
                    + "(default ${DEFAULT-VALUE})")
    int settleSeconds;

    @Option(names = "--java-options", defaultValue = "-Xmx256m",
            description = "JVM options of the source and destination processes (default ${DEFAULT-VALUE}, a local "
                    + "worker's heap)")
    String javaOptions;

    private final SecureRandom secrets = new SecureRandom();
    /** Each new destination's memory commit before it said ready (not in the timed run), s/GiB. */
    private final List<Double> prepareSecondsPerGib = new ArrayList<>();
    private int processes;

    /** One migration or raw transfer: wall seconds, CPU nanoseconds of the sending and of the receiving process. */
    record Run(double seconds, long sendCpuNanos, long receiveCpuNanos, String phase, long downtimeMs,
               long iterations, boolean checksumsEqual) {

        boolean completed() {
            return phase.equals("COMPLETED");
        }

        double cpuSecondsPerGib(long bytes) {
            return (sendCpuNanos + receiveCpuNanos) / 1e9 / (bytes / GIB);
        }
    }

    /** A row of the table: one size, one kind of run, one channel count (0 for raw TCP); its runs in order. */
    record Cell(long bytes, String kind, int channels, long dirtyPagesPerSecond, List<Run> runs) {

        Run first() {
            return runs.get(0);
        }

        /** The median run by time (of an even count, the slower middle one). */
        Run median() {
            List<Run> sorted = new ArrayList<>(runs);
            sorted.sort(Comparator.comparingDouble(Run::seconds));
            return sorted.get(sorted.size() / 2);
        }

        String label() {
            return kind.equals(DIRTY) ? "random, dirty " + dirtyPagesPerSecond + " p/s" : kind;
        }
    }

    /** A run that must not be reported: a failed idle migration, a guest that arrived different. */
    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    @Override
    public Integer call() throws Exception {
        List<Long> bytes = sizes.stream().map(PrecopyBenchmark::parseSize).toList();
        long largest = bytes.stream().mapToLong(Long::longValue).max().orElseThrow();
        long available = Machine.availableMemoryBytes();
        if (2 * largest + HEADROOM > available) {
            System.err.printf(Locale.ROOT, "refusing: a %s guest needs about %.1f GiB, both sides holding all of it "
                            + "plus %.0f GiB for the processes, and this machine has %.1f GiB available; leave that size "
                            + "out (e.g. --sizes 1g,4g)%n", mib(largest), (2 * largest + HEADROOM) / GIB, HEADROOM / GIB,
                    available / GIB);
            return 2;
        }
        if (repeat < 1 || channels.isEmpty()) {
            System.err.println("--repeat must be at least 1 and --channels name at least one count");
            return 2;
        }
        PrintStream out = System.out;
        out.printf(Locale.ROOT, "Ferry pre-copy benchmark: source and destination in two JVMs, a new destination "
                + "process for every run; loopback, unlimited bandwidth, downtime limit %d ms%n", downtimeLimitMs);
        out.printf(Locale.ROOT, "machine: %d cores, %.1f GiB available, load average %s%n",
                Runtime.getRuntime().availableProcessors(), available / GIB, Machine.loadAverage());
        out.printf(Locale.ROOT, "endpoints: %s bench-endpoint ...%n", String.join(" ", FerryCommand.of(jvmOptions())));
        out.printf(Locale.ROOT, "engine warm-up: %s%n", warmUpMib > 0 ? "each endpoint migrates a " + warmUpMib
                + " MiB guest to itself before it says ready, as a worker before it registers (not timed)"
                : "none: every process meets the migration with a cold JIT");
        out.printf(Locale.ROOT, "sizes %s; random and all-zero memory%s; channels %s; %d runs per cell%s%n%n",
                bytes.stream().map(PrecopyBenchmark::mib).collect(Collectors.joining(", ")),
                dirtyShare > 0 ? String.format(Locale.ROOT, "; (c) dirtying at %.0f%% of random's bandwidth",
                        dirtyShare * 100) : "",
                channels.stream().map(String::valueOf).collect(Collectors.joining(",")), repeat,
                settleSeconds > 0 ? ", " + settleSeconds + " s apart" : "");
        Path logs = Files.createTempDirectory("ferry-bench-");
        List<Cell> cells;
        try {
            cells = measure(bytes, out, logs);
        } catch (Failure | IOException e) {
            System.err.println("FAIL: " + e.getMessage());
            System.err.println("the endpoints' logs are in " + logs);
            return 1;
        }
        out.println();
        table(out, cells);
        out.println();
        summary(out, bytes, cells);
        out.printf(Locale.ROOT, "%nevery completed run's destination memory had the source's SHA-256; load average at "
                + "the end: %s (other processes on the machine skew the figures)%n", Machine.loadAverage());
        LocalControlPlane.deleteTree(logs);
        return 0;
    }

    /** Every cell of the matrix, in order; progress lines to {@code out}, the endpoints' logs in {@code logs}. */
    List<Cell> measure(List<Long> bytes, PrintStream out, Path logs) throws Exception {
        List<Cell> cells = new ArrayList<>();
        for (long size : bytes) {
            Cell raw = new Cell(size, RAW, 0, 0, new ArrayList<>());
            for (int i = 0; i < repeat; i++) {
                raw.runs().add(raw(size, logs));
                progress(out, raw);
                settle();
            }
            cells.add(raw);
            Cell rawMemory = new Cell(size, RAW_MEMORY, 0, 0, new ArrayList<>());
            for (int i = 0; i < repeat; i++) {
                rawMemory.runs().add(raw(size, logs, "--memory"));
                progress(out, rawMemory);
                settle();
            }
            cells.add(rawMemory);
            for (String content : List.of(RANDOM, ZERO)) {
                for (int n : channels) {
                    cells.add(cell(out, logs, size, content, n, 0));
                }
            }
            if (dirtyShare > 0) {
                for (int n : channels) {
                    Cell random = cells.stream().filter(c -> c.bytes() == size && c.kind().equals(RANDOM)
                            && c.channels() == n).findFirst().orElseThrow();
                    long pages = (long) (size / random.median().seconds() * dirtyShare / RamBlock.PAGE_SIZE);
                    cells.add(cell(out, logs, size, RANDOM, n, Math.max(1, pages)));
                }
            }
        }
        return cells;
    }

    private void settle() throws InterruptedException {
        Thread.sleep(settleSeconds * 1000L);
    }

    private List<String> jvmOptions() {
        return Arrays.stream(javaOptions.split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }

    private EndpointProcess start(String role, Path logs, String... arguments) throws IOException {
        int number = ++processes;
        List<String> args = new ArrayList<>(List.of(role));
        args.addAll(List.of(arguments));
        return EndpointProcess.start(role + " #" + number, jvmOptions(), args,
                logs.resolve(String.format(Locale.ROOT, "%03d-%s.log", number, role)));
    }

    /** The baseline: a new receiver and a new sender process, the sender's time from connect to acknowledgement. */
    private Run raw(long bytes, Path logs, String... options) throws Exception {
        List<String> arguments = new ArrayList<>(List.of("--bytes", Long.toString(bytes)));
        arguments.addAll(List.of(options));
        try (EndpointProcess receiver = start(BenchEndpoint.RAW_RECEIVER, logs, arguments.toArray(String[]::new));
             EndpointProcess sender = start(BenchEndpoint.RAW_SENDER, logs, arguments.toArray(String[]::new))) {
            int port = Integer.parseInt(receiver.expect("ready", START).word(1));
            sender.expect("ready", START);
            sender.send("go 127.0.0.1:" + port);
            Line sent = sender.expect("result", RUN);
            Line received = receiver.expect("result", RUN);
            return new Run(sent.decimal("seconds"), sent.number("cpuNanos"), received.number("cpuNanos"), "COMPLETED",
                    -1, 0, true);
        }
    }

    /** One cell: a source process for all its runs, a new destination process for each. */
    private Cell cell(PrintStream out, Path logs, long bytes, String content, int channelCount, long dirtyPages)
            throws Exception {
        String guestId = UUID.randomUUID().toString();
        Cell cell = new Cell(bytes, dirtyPages > 0 ? DIRTY : content, channelCount, dirtyPages, new ArrayList<>());
        try (EndpointProcess source = start(BenchEndpoint.SOURCE, logs, "--bytes", Long.toString(bytes),
                "--guest-id", guestId, "--content", content, "--channels", Integer.toString(channelCount),
                "--warm-up-mib", Integer.toString(warmUpMib),
                "--downtime-limit-ms", Long.toString(downtimeLimitMs),
                "--dirty-pages-per-second", Long.toString(dirtyPages))) {
            source.expect("ready", SETUP);
            for (int i = 0; i < repeat; i++) {
                cell.runs().add(migrate(source, cell, guestId, logs));
                progress(out, cell);
                settle();
            }
            source.send("quit");
        }
        return cell;
    }

    /** One migration into a new destination process; the wall time runs from "go" to the source's result. */
    private Run migrate(EndpointProcess source, Cell cell, String guestId, Path logs) throws Exception {
        UUID jobId = UUID.randomUUID();
        byte[] secret = new byte[32];
        secrets.nextBytes(secret);
        String secretText = Base64.getEncoder().encodeToString(secret);
        String which = String.format(Locale.ROOT, "%s %s, %d channel(s), run %d", mib(cell.bytes()), cell.label(),
                cell.channels(), cell.runs().size() + 1);
        try (EndpointProcess destination = start(BenchEndpoint.DESTINATION, logs, "--bytes",
                Long.toString(cell.bytes()), "--guest-id", guestId, "--channels", Integer.toString(cell.channels()),
                "--warm-up-mib", Integer.toString(warmUpMib))) {
            destination.send("expect " + jobId + " " + secretText);
            Line ready = destination.expect("ready", START);
            int port = Integer.parseInt(ready.word(1));
            prepareSecondsPerGib.add(Long.parseLong(ready.word(2)) / 1e3 / (cell.bytes() / GIB));
            long start = System.nanoTime();
            source.send("go 127.0.0.1:" + port + " " + jobId + " " + secretText);
            Line sent = source.expect("result", RUN);
            double seconds = (System.nanoTime() - start) / 1e9;
            String sourceSum = source.expect("checksum", DIGEST).field("sha256");
            String phase = sent.field("phase");
            long downtime = sent.fields().containsKey("downtimeMs") ? sent.number("downtimeMs") : -1;
            long iterations = sent.fields().containsKey("iterations") ? sent.number("iterations") : 0;
            if (!phase.equals("COMPLETED")) {
                if (cell.dirtyPagesPerSecond() == 0) {
                    throw new Failure(which + ": the migration ended " + phase + ": " + sent.fields().get("reason"));
                }
                return new Run(seconds, sent.number("cpuNanos"), 0, phase, downtime, iterations, false);
            }
            Line arrived = destination.expect("result", DIGEST);
            destination.awaitExit(START);   // its memory goes back before the next run
            if (!Boolean.parseBoolean(arrived.field("ok"))) {
                throw new Failure(which + ": the source completed but the destination did not run the guest");
            }
            String destinationSum = arrived.field("sha256");
            if (!destinationSum.equals(sourceSum)) {
                throw new Failure(which + ": memory checksum mismatch: source " + sourceSum + ", destination "
                        + destinationSum);
            }
            return new Run(seconds, sent.number("cpuNanos"), arrived.number("cpuNanos"), phase, downtime, iterations,
                    true);
        }
    }

    private void progress(PrintStream out, Cell cell) {
        Run r = cell.runs().get(cell.runs().size() - 1);
        String job = cell.channels() == 0 ? ""
                : String.format(Locale.ROOT, "  downtime %d ms, %d iterations, %s%s", r.downtimeMs(), r.iterations(),
                        r.phase(), r.checksumsEqual() ? ", checksums equal" : "");
        out.printf(Locale.ROOT, "  %-9s %-24s %5s  run %d/%d %8.2f s %7.0f MiB/s  CPU %.2f + %.2f s%s%n",
                mib(cell.bytes()), cell.label(), cell.channels() == 0 ? "" : cell.channels() + " ch", cell.runs().size(),
                repeat, r.seconds(), cell.bytes() / MIB / r.seconds(), r.sendCpuNanos() / 1e9,
                r.receiveCpuNanos() / 1e9, job);
    }

    private static final String ROW = "%-9s %-24s %3s | %7s %7s %6s %9s %8s | %7s %7s %6s %9s %8s %5s  %s%n";

    static void table(PrintStream out, List<Cell> cells) {
        out.printf(Locale.ROOT, "%-9s %-24s %3s | %-41s | %-41s%n", "", "", "",
                "--------- first run (cold) --------------", "--------------- median ------------------");
        out.printf(Locale.ROOT, ROW, "size", "case", "ch", "s", "MiB/s", "vs raw", "CPU s/GiB", "downtime",
                "s", "MiB/s", "vs raw", "CPU s/GiB", "downtime", "iter", "status");
        for (Cell cell : cells) {
            Cell raw = rawOf(cells, cell.bytes());
            Run first = cell.first();
            Run median = cell.median();
            long completed = cell.runs().stream().filter(Run::completed).count();
            String status = completed == cell.runs().size() ? "ok" : completed + "/" + cell.runs().size() + " completed";
            boolean isRaw = cell.channels() == 0;
            out.printf(Locale.ROOT, ROW, mib(cell.bytes()), cell.kind().equals(RAW) ? "raw loopback TCP" : cell.label(),
                    isRaw ? "-" : Integer.toString(cell.channels()),
                    f(first.seconds()), f0(cell.bytes() / MIB / first.seconds()),
                    f(raw.first().seconds() / first.seconds()), f(first.cpuSecondsPerGib(cell.bytes())),
                    downtime(first),
                    f(median.seconds()), f0(cell.bytes() / MIB / median.seconds()),
                    f(raw.median().seconds() / median.seconds()), f(median.cpuSecondsPerGib(cell.bytes())),
                    downtime(median), isRaw ? "-" : Long.toString(median.iterations()), status);
        }
        out.println("vs raw: raw loopback TCP's time over the run's (first against its first run, median against its "
                + "median); CPU: both processes, user and system; raw TCP, memory: the same bytes from a random-filled "
                + "RAM block into a pre-faulted one, each as large as the guest (a migration's memory traffic, none of "
                + "its work), where raw loopback TCP reuses one cache-hot 1 MiB buffer on each side");
    }

    private void summary(PrintStream out, List<Long> bytes, List<Cell> cells) {
        for (long size : bytes) {
            Cell raw = rawOf(cells, size);
            Cell rawMemory = find(cells, size, RAW_MEMORY, 0);
            List<String> firstRuns = new ArrayList<>();
            List<String> firstRunsAgainstMemory = new ArrayList<>();
            List<String> zeroSpeedUps = new ArrayList<>();
            for (int n : channels) {
                Cell random = find(cells, size, RANDOM, n);
                Cell zero = find(cells, size, ZERO, n);
                firstRuns.add(String.format(Locale.ROOT, "%.0f%% (%.0f%%) with %d ch",
                        100 * raw.first().seconds() / random.first().seconds(),
                        100 * raw.median().seconds() / random.first().seconds(), n));
                firstRunsAgainstMemory.add(String.format(Locale.ROOT, "%.0f%% (%.0f%%) with %d ch",
                        100 * rawMemory.first().seconds() / random.first().seconds(),
                        100 * rawMemory.median().seconds() / random.median().seconds(), n));
                zeroSpeedUps.add(String.format(Locale.ROOT, "%.1fx (%d ch)",
                        random.median().seconds() / zero.median().seconds(), n));
            }
            out.printf(Locale.ROOT, "%s: first run of random memory against raw loopback TCP's first run (and its "
                    + "median): %s; target >= 80%%%n", mib(size), String.join(", ", firstRuns));
            out.printf(Locale.ROOT, "%s: random memory against raw TCP memory to memory, first runs (medians): %s%n",
                    mib(size), String.join(", ", firstRunsAgainstMemory));
            out.printf(Locale.ROOT, "%s: all-zero memory ran %s as fast as random memory (medians); target >= 5x%n",
                    mib(size), String.join(", ", zeroSpeedUps));
            for (Cell dirty : cells.stream().filter(c -> c.bytes() == size && c.kind().equals(DIRTY)).toList()) {
                Run m = dirty.median();
                out.printf(Locale.ROOT, "%s: (c) dirtying %d pages/s (%.0f%% of random's median bandwidth) with %d "
                                + "ch: downtime %d ms against a limit of %d ms: %s; status %s (median run)%n",
                        mib(size), dirty.dirtyPagesPerSecond(), dirtyShare * 100, dirty.channels(), m.downtimeMs(),
                        downtimeLimitMs, m.downtimeMs() >= 0 && m.downtimeMs() <= downtimeLimitMs ? "within" : "OVER",
                        m.phase());
            }
        }
        if (!prepareSecondsPerGib.isEmpty()) {
            List<Double> sorted = prepareSecondsPerGib.stream().sorted().toList();
            out.printf(Locale.ROOT, "each new destination committed its memory before it said ready (not in the times "
                            + "above, as a destination QEMU's -mem-prealloc): median %.2f s/GiB, range %.2f-%.2f%n",
                    sorted.get(sorted.size() / 2), sorted.get(0), sorted.get(sorted.size() - 1));
        }
    }

    private static Cell rawOf(List<Cell> cells, long bytes) {
        return find(cells, bytes, RAW, 0);
    }

    private static Cell find(List<Cell> cells, long bytes, String kind, int channelCount) {
        return cells.stream().filter(c -> c.bytes() == bytes && c.kind().equals(kind) && c.channels() == channelCount)
                .findFirst().orElseThrow();
    }

    private static String downtime(Run run) {
        return run.downtimeMs() < 0 ? "-" : run.downtimeMs() + " ms";
    }

    private static String mib(long bytes) {
        return bytes / MIB + " MiB";
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f0(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unit = t.endsWith("g") ? 1L << 30 : t.endsWith("m") ? MIB : t.endsWith("k") ? 1024 : 1;
        String digits = Character.isDigit(t.charAt(t.length() - 1)) ? t : t.substring(0, t.length() - 1);
        long value = Long.parseLong(digits) * unit;
        if (value < 16 * MIB || value % 4096 != 0) {
            throw new IllegalArgumentException("--size must be at least 16m and a multiple of 4 KiB");
        }
        return value;
    }
}
