package io.ferry.migration.qemu;

import io.ferry.guest.qemu.Qmp;
import java.time.Duration;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;

/**
 * Test-only: one {@code qemu-system-x86_64} process (pc machine, no devices, no display, vCPUs
 * stopped with {@code -S}, KVM where it opens, else TCG) and a QMP client on its unix socket.
 * QMP goes through the guest runtime's client ({@link Qmp}).
 */
final class TestQemu implements AutoCloseable {


    private final Process process;
    private final Path log;
    private Qmp qmp;

    private TestQemu(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static Optional<Path> binary() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir).resolve("qemu-system-x86_64");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** A source whose RAM is {@code memoryFile} (shared, so the test filled it before). */
    static TestQemu source(Path binary, Path dir, String name, Path memoryFile, int mib) throws IOException {
        List<String> command = common(binary, dir, name, mib);
        command.addAll(List.of("-object", "memory-backend-file,id=pc.ram,size=" + mib + "M,mem-path=" + memoryFile
                + ",share=on", "-machine", "pc,memory-backend=pc.ram"));
        return start(command, dir, name);
    }

    /** A destination waiting for QMP migrate-incoming. */
    static TestQemu destination(Path binary, Path dir, String name, int mib) throws IOException {
        List<String> command = common(binary, dir, name, mib);
        command.addAll(List.of("-machine", "pc", "-incoming", "defer"));
        return start(command, dir, name);
    }

    private static List<String> common(Path binary, Path dir, String name, int mib) {
        return new ArrayList<>(List.of(binary.toString(), "-accel", "kvm", "-accel", "tcg", "-m", mib + "M",
                "-nodefaults", "-display", "none", "-S",
                "-qmp", "unix:" + dir.resolve(name + ".qmp") + ",server=on,wait=off"));
    }

    private static TestQemu start(List<String> command, Path dir, String name) throws IOException {
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        TestQemu qemu = new TestQemu(process, log);
        try {
            qemu.connect(dir.resolve(name + ".qmp"));
            return qemu;
        } catch (IOException | RuntimeException e) {
            qemu.close();
            throw e;
        }
    }

    private void connect(Path socket) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("QEMU exited with " + process.exitValue() + ": " + logTail());
            }
            if (Files.exists(socket)) {
                try {
                    qmp = Qmp.connect(socket, Duration.ofSeconds(30));
                    return;
                } catch (IOException e) {
                    // not listening yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("no QMP on " + socket);
            }
            sleep(10);
        }
    }

    JsonNode execute(String command) throws IOException {
        return execute(command, Map.of());
    }

    JsonNode execute(String command, Map<String, Object> arguments) throws IOException {
        return qmp.execute(command, arguments);
    }

    /** query-migrate's status. */
    String migrationStatus() throws IOException {
        return execute("query-migrate").path("status").asString("none");
    }

    /** query-status's run state. */
    String runState() throws IOException {
        return execute("query-status").path("status").asString("?");
    }

    /** Polls query-migrate until it is one of {@code statuses}, or fails after {@code seconds}. */
    JsonNode awaitMigration(int seconds, String... statuses) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            JsonNode info = execute("query-migrate");
            String status = info.path("status").asString("none");
            for (String s : statuses) {
                if (s.equals(status)) {
                    return info;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("migration still " + status + " after " + seconds + " s: " + info);
            }
            sleep(20);
        }
    }

    boolean alive() {
        return process.isAlive();
    }

    boolean awaitExit(long seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 8), lines.size()));
        } catch (IOException e) {
            return "(no log)";
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
        }
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

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
