package io.ferry.guest.qemu;

import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU process and its QMP connection; its stdout and stderr go to a log file. Closing it
 * ends the process (SIGTERM, then SIGKILL): no QEMU outlives its owner.
 */
public final class QemuProcess implements AutoCloseable {

    /** Start-up to QMP greeting; a destination with -mem-prealloc touches all its RAM first. */
    private static final Duration START = Duration.ofMinutes(2);

    private final String name;
    private final Process process;
    private final Path log;
    private Qmp qmp;

    private QemuProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code command} and connects to its QMP socket, in command mode once this returns. */
    public static QemuProcess start(String name, List<String> command, Path qmpSocket, Path log) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        QemuProcess qemu = new QemuProcess(name, process, log);
        try {
            qemu.qmp = qemu.connect(qmpSocket);
            return qemu;
        } catch (IOException | RuntimeException e) {
            qemu.close();
            throw e;
        }
    }

    /** QEMU makes its socket early and greets from its main loop: retry until it answers or dies. */
    private Qmp connect(Path socket) throws IOException {
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with code " + process.exitValue() + " before QMP answered: "
                        + logTail());
            }
            if (Files.exists(socket)) {
                try {
                    return Qmp.connect(socket, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                } catch (ConnectException e) {
                    // not listening yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(name + ": no QMP on " + socket + " within " + START.toSeconds() + " s");
            }
            sleep(10);
        }
    }

    /** The QMP connection, in command mode. One caller at a time (see {@link Qmp}). */
    public Qmp qmp() {
        return qmp;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Completes when the process has exited, for whatever reason, with its exit code. */
    public java.util.concurrent.CompletableFuture<Integer> onExit() {
        return process.onExit().thenApply(Process::exitValue);
    }

    /**
     * Asks QEMU to {@code quit} over QMP and waits up to {@code grace} for it to exit; a QEMU that
     * does not (or cannot be asked) is ended by {@link #close()}.
     */
    public void quit(Duration grace) {
        try {
            if (process.isAlive() && qmp != null) {
                qmp.execute("quit", java.util.Map.of(), grace);
            }
            process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            // its socket closing under the answer is how a quit often ends
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            close();
        }
    }

    /** User and system CPU of the whole process so far, in nanoseconds (-1 where the OS does not say). */
    public long cpuNanos() {
        return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** The last lines QEMU wrote, for an error message. */
    public String logTail() {
        return logTail(5);
    }

    /** The last {@code count} lines QEMU wrote, joined with " | "; "(nothing)" when it wrote none. */
    public String logTail(int count) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank()).toList();
            if (lines.isEmpty()) {
                return "(nothing)";
            }
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - count), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        try {
            if (qmp != null) {
                qmp.close();
            }
        } catch (IOException ignored) {
            // the process goes anyway
        } finally {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
