package io.ferry.bench;

import io.ferry.guest.qemu.QemuInstallation;
import io.ferry.guest.qemu.QemuProcess;
import io.ferry.guest.qemu.Qmp;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.JsonNode;

/**
 * {@code ferry bench-qemu}: QEMU's own live migration of RAM over loopback, so that {@code ferry
 * bench}'s figures can be set against QEMU's on the same machine in the same hour. Every run
 * starts two new QEMU processes: a source whose guest RAM is a file the benchmark filled (in
 * /dev/shm), and a destination with fresh anonymous RAM listening on {@code -incoming}; the vCPUs
 * never run ({@code -S}), so the migration is a pure copy of RAM in one TCP stream. Raw loopback
 * TCP of the same byte count, measured in the same invocation, is the baseline. Per cell the first
 * run (cold) is reported apart from the median. Not part of CI: it needs {@code qemu-system-x86_64}.
 */
@Command(name = "bench-qemu", mixinStandardHelpOptions = true,
        description = "Measure QEMU's own live migration of an idle guest's RAM over loopback (new QEMU processes "
                + "every run) next to raw loopback TCP of the same bytes.")
public final class QemuBenchmark implements Callable<Integer> {

    private static final long MIB = 1L << 20;
    private static final double GIB = 1 << 30;
    /** Beside the two guests: this JVM, QEMU itself, the page cache, the OS. */
    private static final long HEADROOM = 1L << 30;
    /**
     * QEMU 7.2 limits a migration to 128 MiB/s unless told otherwise: far below loopback, so every
     * run raises it to a bandwidth no machine reaches.
     */
    static final long MAX_BANDWIDTH = 100L << 30;
    private static final Duration POLL = Duration.ofMillis(20);
    private static final Duration RUN = Duration.ofMinutes(30);

    static final String RANDOM = "random";
    static final String ZERO = "zero";

    @Option(names = {"--sizes", "--size"}, defaultValue = "1g,4g", split = ",",
            description = "Guest RAM sizes, whole MiB, e.g. 1g,4g (default ${DEFAULT-VALUE})")
    List<String> sizes;

    @Option(names = "--content", defaultValue = "random,zero", split = ",",
            description = "Guest RAM contents, a cell each: random and/or zero (default ${DEFAULT-VALUE})")
    List<String> contents;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Runs per cell, each with new QEMU processes; the first is reported apart as the cold one, "
                    + "next to the median of all (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--dir", defaultValue = "/dev/shm",
            description = "Where the source's guest RAM file goes; in memory (tmpfs) unless you mean to measure a "
                    + "disk (default ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--qemu", defaultValue = "qemu-system-x86_64",
            description = "The QEMU binary, a path or a name on PATH (default ${DEFAULT-VALUE})")
    String qemuCommand;

    @Option(names = "--downtime-limit-ms", defaultValue = "300",
            description = "QEMU's downtime-limit, as Ferry's jobs' (default ${DEFAULT-VALUE})")
    long downtimeLimitMs;

    @Option(names = "--destination-prealloc",
            description = "Start each destination with -mem-prealloc: its RAM is committed before the clock starts, "
                    + "as Ferry's bench destination commits its memory before it says ready (default: fresh RAM, "
                    + "touched during the run, as a real destination's)")
    boolean destinationPrealloc;

    private Path runDir;
    private int runNumber;
    /** QEMU's max-bandwidth before the benchmark raised it, bytes/s, as the first source reported it. */
    private long qemuDefaultBandwidth = -1;

    /** One migration: wall seconds, the source's final query-migrate, CPU ns of each QEMU during it. */
    record Run(double seconds, QemuMigrationStatus source, long sourceCpuNanos, long destinationCpuNanos) {

        /** Both processes' CPU per GiB of guest RAM; -1 where the OS did not tell. */
        double cpuSecondsPerGib(long bytes) {
            if (sourceCpuNanos < 0 || destinationCpuNanos < 0) {
                return -1;
            }
            return (sourceCpuNanos + destinationCpuNanos) / 1e9 / (bytes / GIB);
        }
    }

    /** A row: one size, one content; its runs in order. */
    record Cell(long bytes, String content, List<Run> runs) {

        Run first() {
            return runs.get(0);
        }

        /** The median run by wall time (of an even count, the slower middle one). */
        Run median() {
            return Quantiles.median(runs, Comparator.comparingDouble(Run::seconds));
        }
    }

    /** Raw loopback TCP of one size: seconds of each run, in order. */
    record Baseline(long bytes, List<Double> seconds) {

        double first() {
            return seconds.get(0);
        }

        double median() {
            return Quantiles.median(seconds, Comparator.naturalOrder());
        }
    }

    /** A run that must not be reported: a failed migration, a QEMU that ignored a parameter. */
    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    @Override
    public Integer call() throws Exception {
        Optional<Path> binary = QemuInstallation.find(qemuCommand);
        if (binary.isEmpty()) {
            System.err.println(qemuCommand + " not found. Install QEMU, e.g. on Debian or Ubuntu (as root): "
                    + "apt-get install -y qemu-system-x86 ; or name the binary with "
                    + "--qemu /path/to/qemu-system-x86_64");
            return 2;
        }
        List<Long> bytes = sizes.stream().map(PrecopyBenchmark::parseSize).toList();
        String refusal = refusal(bytes);
        if (refusal != null) {
            System.err.println(refusal);
            return 2;
        }
        QemuInstallation qemu = QemuInstallation.probe(binary.get());
        PrintStream out = System.out;
        String loadAtStart = Machine.loadAverage();
        out.printf(Locale.ROOT, "QEMU live-migration benchmark: %s (%s)%n", qemu.version(), qemu.binary());
        out.printf(Locale.ROOT, "accelerator: %s (%s)%n", qemu.accelerator(), qemu.why());
        out.printf(Locale.ROOT, "machine: %d cores, %.1f GiB available, load average %s%n",
                Runtime.getRuntime().availableProcessors(), Machine.availableMemoryBytes() / GIB, loadAtStart);
        out.printf(Locale.ROOT, "each run: new QEMU processes, -machine pc -nodefaults -S (vCPUs never run: a pure "
                + "copy of RAM), one TCP stream over 127.0.0.1%n");
        out.printf(Locale.ROOT, "source RAM: memory-backend-file in %s, share=on; destination RAM: %s%n", dir,
                destinationPrealloc ? "anonymous, -mem-prealloc (committed before the clock starts)"
                        : "anonymous, fresh (first touched during the run)");
        out.printf(Locale.ROOT, "max-bandwidth raised to %d GiB/s (QEMU 7.2's default of 128 MiB/s would throttle "
                + "every run), downtime-limit %d ms%n", MAX_BANDWIDTH >> 30, downtimeLimitMs);
        out.printf(Locale.ROOT, "sizes %s; contents %s; %d runs per cell%n%n",
                bytes.stream().map(QemuBenchmark::mib).collect(Collectors.joining(", ")), String.join(", ", contents),
                repeat);
        runDir = Files.createTempDirectory("ferry-bench-qemu-");
        List<Baseline> baselines = new ArrayList<>();
        List<Cell> cells = new ArrayList<>();
        try {
            measure(qemu, bytes, out, baselines, cells);
        } catch (Failure | IOException e) {
            System.err.println("FAIL: " + e.getMessage());
            System.err.println("QEMU's logs are in " + runDir);
            return 1;
        }
        out.println();
        table(out, baselines, cells);
        out.printf(Locale.ROOT, "max-bandwidth: QEMU's own default here was %s, which would throttle every run; each "
                + "run set %d GiB/s%n", qemuDefaultBandwidth < 0 ? "not read" : String.format(Locale.ROOT, "%.0f MiB/s",
                qemuDefaultBandwidth / (double) MIB), MAX_BANDWIDTH >> 30);
        out.printf(Locale.ROOT, "%s, accelerator %s, %d cores; load average at the start %s, at the end %s (other "
                        + "processes on the machine skew the figures)%n", qemu.version(), qemu.accelerator(),
                Runtime.getRuntime().availableProcessors(), loadAtStart, Machine.loadAverage());
        LocalControlPlane.deleteTree(runDir);
        return 0;
    }

    /** Why the given sizes cannot run here, or null. */
    private String refusal(List<Long> bytes) throws IOException {
        if (repeat < 1 || contents.isEmpty()
                || !contents.stream().allMatch(c -> c.equals(RANDOM) || c.equals(ZERO))) {
            return "--repeat must be at least 1 and --content one or both of random,zero";
        }
        if (bytes.stream().anyMatch(b -> b % MIB != 0)) {
            return "--sizes must be whole MiB (QEMU's -m)";
        }
        long largest = bytes.stream().mapToLong(Long::longValue).max().orElseThrow();
        long available = Machine.availableMemoryBytes();
        if (2 * largest + HEADROOM > available) {
            return String.format(Locale.ROOT, "refusing: a %s guest needs about %.1f GiB (the source's file and the "
                            + "destination's RAM, plus %.0f GiB), and this machine has %.1f GiB available",
                    mib(largest), (2 * largest + HEADROOM) / GIB, HEADROOM / GIB, available / GIB);
        }
        if (!Files.isDirectory(dir) || Files.getFileStore(dir).getUsableSpace() < largest) {
            return "--dir " + dir + " is not a directory with room for a " + mib(largest) + " guest";
        }
        return null;
    }

    /** Per size: raw TCP, then each content; progress lines to {@code out}. */
    private void measure(QemuInstallation qemu, List<Long> bytes, PrintStream out, List<Baseline> baselines,
                         List<Cell> cells) throws Exception {
        for (long size : bytes) {
            Baseline raw = new Baseline(size, new ArrayList<>());
            for (int i = 0; i < repeat; i++) {
                raw.seconds().add(RawTcp.inProcess(size));
                out.printf(Locale.ROOT, "  %-9s %-17s run %d/%d %8.2f s %7.0f MiB/s%n", mib(size), "raw loopback TCP",
                        i + 1, repeat, raw.seconds().get(i), size / MIB / raw.seconds().get(i));
            }
            baselines.add(raw);
            QemuCommandLine commandLine = new QemuCommandLine(qemu, size);
            for (String content : contents) {
                Cell cell = new Cell(size, content, new ArrayList<>());
                long fillStart = System.nanoTime();
                try (GuestMemoryFile memory = GuestMemoryFile.create(dir, size, content.equals(RANDOM))) {
                    out.printf(Locale.ROOT, "  %-9s %-17s guest RAM file filled in %.1f s (not timed)%n", mib(size),
                            content, (System.nanoTime() - fillStart) / 1e9);
                    for (int i = 0; i < repeat; i++) {
                        cell.runs().add(migrate(commandLine, memory, cell));
                        progress(out, cell);
                    }
                }
                cells.add(cell);
            }
        }
    }

    /** One migration between two new QEMU processes; both end before this returns. */
    private Run migrate(QemuCommandLine commandLine, GuestMemoryFile memory, Cell cell) throws Exception {
        int number = ++runNumber;
        String which = String.format(Locale.ROOT, "%s %s run %d", mib(cell.bytes()), cell.content(),
                cell.runs().size() + 1);
        Path destinationSocket = runDir.resolve(number + "-destination.qmp");
        Path sourceSocket = runDir.resolve(number + "-source.qmp");
        int port = freePort();
        try (QemuProcess destination = QemuProcess.start("destination QEMU (" + which + ")",
                commandLine.destination(port, destinationSocket, destinationPrealloc), destinationSocket,
                runDir.resolve(number + "-destination.log"));
             QemuProcess source = QemuProcess.start("source QEMU (" + which + ")",
                     commandLine.source(memory.path(), sourceSocket), sourceSocket,
                     runDir.resolve(number + "-source.log"))) {
            raiseBandwidth(source.qmp(), which);
            long sourceCpu = source.cpuNanos();
            long destinationCpu = destination.cpuNanos();
            long start = System.nanoTime();
            long deadline = start + RUN.toNanos();
            source.qmp().execute("migrate", Map.of("uri", "tcp:127.0.0.1:" + port));
            QemuMigrationStatus sent = await(source.qmp(), deadline, which);
            if (!sent.completed()) {
                throw new Failure(which + ": the source's migration ended " + sent.status() + ": " + sent.error()
                        + "; destination said: " + destination.logTail());
            }
            // done when the destination has loaded it all, as raw TCP is done when its receiver acknowledges
            QemuMigrationStatus arrived = await(destination.qmp(), deadline, which);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!arrived.completed()) {
                throw new Failure(which + ": the destination's migration ended " + arrived.status() + ": "
                        + arrived.error() + "; " + destination.logTail());
            }
            return new Run(seconds, sent, delta(source.cpuNanos(), sourceCpu),
                    delta(destination.cpuNanos(), destinationCpu));
        }
    }

    /** Sets max-bandwidth and downtime-limit on the source and checks QEMU took them. */
    private void raiseBandwidth(Qmp source, String which) throws IOException, Failure {
        if (qemuDefaultBandwidth < 0) {
            qemuDefaultBandwidth = source.execute("query-migrate-parameters").path("max-bandwidth").asLong(-1);
        }
        source.execute("migrate-set-parameters", Map.of("max-bandwidth", MAX_BANDWIDTH,
                "downtime-limit", downtimeLimitMs));
        JsonNode now = source.execute("query-migrate-parameters");
        if (now.path("max-bandwidth").asLong(-1) != MAX_BANDWIDTH) {
            throw new Failure(which + ": QEMU kept max-bandwidth at " + now.path("max-bandwidth")
                    + " after migrate-set-parameters");
        }
    }

    /** Polls query-migrate every 20 ms until the migration finished (completed, failed or cancelled). */
    private static QemuMigrationStatus await(Qmp qmp, long deadline, String which) throws IOException,
            InterruptedException, Failure {
        while (true) {
            QemuMigrationStatus status = QemuMigrationStatus.of(qmp.execute("query-migrate"));
            if (status.finished()) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                throw new Failure(which + ": still " + status.status() + " after " + RUN.toMinutes() + " minutes");
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    private void progress(PrintStream out, Cell cell) {
        Run r = cell.runs().get(cell.runs().size() - 1);
        QemuMigrationStatus q = r.source();
        out.printf(Locale.ROOT, "  %-9s %-17s run %d/%d %8.2f s %7.0f MiB/s  QEMU: total %d ms (setup %d), downtime "
                        + "%d ms, sent %.0f MiB at %.0f Mbit/s  CPU %s + %s s%n", mib(cell.bytes()), cell.content(),
                cell.runs().size(), repeat, r.seconds(), cell.bytes() / MIB / r.seconds(), q.totalTimeMs(),
                q.setupTimeMs(), q.downtimeMs(), q.transferredBytes() / (double) MIB, q.mbps(),
                seconds(r.sourceCpuNanos()), seconds(r.destinationCpuNanos()));
    }

    private static final String ROW = "%-9s %-17s | %7s %6s | %7s %7s %6s | %8s %8s %9s %9s | %9s%n";

    static void table(PrintStream out, List<Baseline> baselines, List<Cell> cells) {
        out.printf(Locale.ROOT, "%-9s %-17s | %-14s | %-22s | %-37s |%n", "", "", "-- run 1 -----",
                "-- median ------------", "-- QEMU's own, median run -----------");
        out.printf(Locale.ROOT, ROW, "size", "content", "s", "vs raw", "s", "MiB/s", "vs raw", "total ms",
                "downtime", "sent MiB", "Mbit/s", "CPU s/GiB");
        for (Baseline raw : baselines) {
            out.printf(Locale.ROOT, ROW, mib(raw.bytes()), "raw loopback TCP", f(raw.first()), "1.00", f(raw.median()),
                    f0(raw.bytes() / MIB / raw.median()), "1.00", "-", "-", "-", "-", "-");
            for (Cell cell : cells.stream().filter(c -> c.bytes() == raw.bytes()).toList()) {
                Run first = cell.first();
                Run median = cell.median();
                QemuMigrationStatus q = median.source();
                double cpu = median.cpuSecondsPerGib(cell.bytes());
                out.printf(Locale.ROOT, ROW, mib(cell.bytes()), "QEMU " + cell.content(), f(first.seconds()),
                        f(raw.first() / first.seconds()), f(median.seconds()),
                        f0(cell.bytes() / MIB / median.seconds()), f(raw.median() / median.seconds()),
                        Long.toString(q.totalTimeMs()), q.downtimeMs() + " ms",
                        f0(q.transferredBytes() / (double) MIB), f0(q.mbps()), cpu < 0 ? "n/a" : f(cpu));
            }
        }
        out.println("s: wall time from the migrate command until both QEMUs report completed (query-migrate polled "
                + "every 20 ms); vs raw: raw loopback TCP's time over QEMU's (run 1 against raw's run 1, median "
                + "against median); total ms: the source's own total-time, setup included; Mbit/s: QEMU's ram.mbps; "
                + "CPU: both QEMU processes, user and system, from migrate to completed, per GiB of guest RAM");
    }

    private static long delta(long after, long before) {
        return after < 0 || before < 0 ? -1 : after - before;
    }

    /** A port free a moment ago: QEMU's -incoming needs a number up front (a race with another process is unlikely). */
    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        }
    }

    private static String seconds(long nanos) {
        return nanos < 0 ? "n/a" : f(nanos / 1e9);
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
}
