package io.ferry.bench;

import io.ferry.guest.qemu.QemuInstallation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The two QEMU command lines of one benchmark cell: a pc machine of {@code bytes} of RAM, no
 * devices, no display, vCPUs never started ({@code -S}), so a migration is a pure copy of RAM.
 */
record QemuCommandLine(QemuInstallation qemu, long bytes) {

    /**
     * The RAM backend's id. A migration names RAM blocks by it, and a destination started with a
     * plain {@code -m} calls its RAM "pc.ram" (the pc machine's default_ram_id): under any other id
     * the destination fails with "Unknown ramblock".
     */
    static final String RAM_ID = "pc.ram";

    /** Guest RAM is {@code memoryFile}, shared, so the benchmark fills it before QEMU starts. */
    List<String> source(Path memoryFile, Path qmpSocket) {
        List<String> command = common(qmpSocket);
        command.addAll(List.of(
                "-object", "memory-backend-file,id=" + RAM_ID + ",size=" + megabytes() + ",mem-path=" + memoryFile
                        + ",share=on",
                "-machine", "pc,memory-backend=" + RAM_ID));
        return command;
    }

    /**
     * Anonymous RAM, fresh as a real destination's, into which the stream arrives on {@code port};
     * with {@code prealloc} it is all touched at start (as Ferry's bench destination commits its
     * memory before it says ready), not in the timed run.
     */
    List<String> destination(int port, Path qmpSocket, boolean prealloc) {
        List<String> command = common(qmpSocket);
        command.addAll(List.of("-machine", "pc", "-incoming", "tcp:127.0.0.1:" + port));
        if (prealloc) {
            command.add("-mem-prealloc");
        }
        return command;
    }

    private List<String> common(Path qmpSocket) {
        return new ArrayList<>(List.of(qemu.binary().toString(),
                "-accel", qemu.accelerator(),
                "-m", megabytes(),
                "-nodefaults", "-nographic", "-display", "none",
                "-S",
                "-qmp", "unix:" + qmpSocket + ",server=on,wait=off"));
    }

    private String megabytes() {
        return (bytes >> 20) + "M";
    }
}
