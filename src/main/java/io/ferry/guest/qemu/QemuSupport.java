package io.ferry.guest.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Whether this host can run QEMU guests, and why (not): a {@code qemu-system-x86_64} that
 * answers {@code --version}, and a {@code qemu-img} to make disk images with (beside that
 * binary, else on PATH). Probed once, when the worker starts.
 *
 * @param installation the QEMU found, null when none is usable
 * @param qemuImg the qemu-img found, null when none is
 * @param detail for a usable QEMU its version and accelerator, else what is missing
 */
public record QemuSupport(QemuInstallation installation, Path qemuImg, String detail) {

    /** The binary looked for on PATH when none is configured. */
    public static final String DEFAULT_BINARY = "qemu-system-x86_64";

    public boolean available() {
        return installation != null && qemuImg != null;
    }

    /** {@code binary}: a path, or a command name looked up on PATH. */
    public static QemuSupport probe(String binary) {
        Optional<Path> found = QemuInstallation.find(binary);
        if (found.isEmpty()) {
            return unavailable(binary.contains("/") ? "QEMU binary " + binary + " does not exist or is not executable"
                    : "no " + binary + " on PATH");
        }
        QemuInstallation installation;
        try {
            installation = QemuInstallation.probe(found.get());
        } catch (IOException e) {
            return unavailable("QEMU binary " + found.get() + " is not runnable: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unavailable("interrupted while asking " + found.get() + " its version");
        }
        Path sibling = found.get().resolveSibling("qemu-img");
        Optional<Path> qemuImg = Files.isExecutable(sibling) ? Optional.of(sibling) : QemuInstallation.find("qemu-img");
        if (qemuImg.isEmpty()) {
            return new QemuSupport(null, null, "no qemu-img beside " + found.get() + " or on PATH (it makes the "
                    + "guests' disk images)");
        }
        return new QemuSupport(installation, qemuImg.get(), installation.version() + ", accelerator "
                + installation.accelerator() + " (" + installation.why() + ")");
    }

    private static QemuSupport unavailable(String why) {
        return new QemuSupport(null, null, why);
    }
}
