package io.ferry.guest.qemu;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@code qemu-system-x86_64} that answered {@code --version}: where it is, its version, and the
 * accelerator its guests use (KVM where this machine lets QEMU open it, else TCG). The QEMU
 * benchmark and the worker's QEMU runtime both start guests with it.
 *
 * @param accelerator QEMU's {@code -accel} value, kvm or tcg
 * @param why what decided the accelerator, for the report
 */
public record QemuInstallation(Path binary, String version, String accelerator, String why) {

    public static final String KVM = "kvm";
    public static final String TCG = "tcg";
    private static final Path DEV_KVM = Path.of("/dev/kvm");

    /** {@code command} as given when it names a path, else the first match on PATH. */
    public static Optional<Path> find(String command) {
        if (command.contains("/")) {
            Path path = Path.of(command);
            return Files.isExecutable(path) ? Optional.of(path) : Optional.empty();
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir).resolve(command);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Asks {@code binary} its version and whether it can use KVM here.
     *
     * @throws IOException if it cannot be started or its {@code --version} fails (the message says how)
     */
    public static QemuInstallation probe(Path binary) throws IOException, InterruptedException {
        Outcome asked = run(List.of(binary.toString(), "--version"), "");
        if (asked.exitCode() != 0) {
            throw new IOException(binary + " --version failed (exit code " + asked.exitCode() + "): "
                    + asked.output().strip().lines().findFirst().orElse("no output"));
        }
        String version = asked.output().lines().findFirst().orElse("?");
        if (!Files.exists(DEV_KVM)) {
            return new QemuInstallation(binary, version, TCG, "/dev/kvm does not exist");
        }
        if (!Files.isReadable(DEV_KVM) || !Files.isWritable(DEV_KVM)) {
            return new QemuInstallation(binary, version, TCG, "/dev/kvm is not readable and writable by this user");
        }
        // /dev/kvm can open and still refuse a VM (no nested virtualisation): let QEMU itself try.
        Outcome kvm = run(List.of(binary.toString(), "-accel", KVM, "-machine", "none", "-nodefaults",
                "-display", "none", "-monitor", "stdio"), "quit\n");
        if (kvm.exitCode() != 0) {
            String reason = kvm.output().lines().filter(l -> l.contains("kvm") || l.contains("KVM"))
                    .findFirst().orElse("exit code " + kvm.exitCode());
            return new QemuInstallation(binary, version, TCG, "QEMU could not use /dev/kvm: " + reason.trim());
        }
        return new QemuInstallation(binary, version, KVM, "/dev/kvm usable");
    }

    private record Outcome(int exitCode, String output) {
    }

    /** Runs {@code command} with {@code input} on stdin; its output goes through a file, so a hang is cut at 30 s. */
    private static Outcome run(List<String> command, String input) throws IOException, InterruptedException {
        Path output = Files.createTempFile("ferry-qemu-probe-", ".txt");
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
        try {
            try (var stdin = process.getOutputStream()) {
                stdin.write(input.getBytes(StandardCharsets.UTF_8));
            } catch (IOException exitedUnread) {
                // it ended without reading its input (a QEMU refusing KVM exits at once): its exit code says why
            }
            boolean exited = process.waitFor(30, TimeUnit.SECONDS);
            String text = Files.readString(output, StandardCharsets.UTF_8);
            return exited ? new Outcome(process.exitValue(), text) : new Outcome(-1, text + "\n(no exit within 30 s)");
        } finally {
            process.destroyForcibly();
            Files.deleteIfExists(output);
        }
    }
}
