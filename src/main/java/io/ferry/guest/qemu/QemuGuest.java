package io.ferry.guest.qemu;

import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestState;
import io.ferry.guest.HostedGuest;
import io.ferry.guest.Sha256;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real virtual machine: a {@code qemu-system-x86_64} process this guest starts and supervises,
 * a {@code pc} machine with no network and no display, one virtio disk per image in the
 * datastore, driven over QMP on a unix socket {@code <guestId>.qmp} in the datastore. QEMU's
 * output goes to {@code <guestId>.qemu.log} there.
 *
 * <p>The state is QMP's {@code query-status} (see {@link QemuStatus}), asked after start and
 * after every command; a QEMU that exits without being asked to is noticed at once (the process's
 * exit, not a poll) and the guest {@link #failure() fails} with its exit code and last words.
 *
 * <p>Checksums follow the synthetic guest's shape: the memory (one block, {@code pc.ram}, as QEMU
 * names a pc machine's RAM) is QMP {@code pmemsave} of guest-physical addresses
 * {@code 0..memoryBytes} into a file in the datastore, hashed and deleted; each disk is its image
 * file, hashed. Both are taken paused: a running guest is stopped for them and continued after.
 * The device state is not captured yet: its checksum is that of no bytes.
 */
public final class QemuGuest implements HostedGuest {

    private static final Logger log = LoggerFactory.getLogger(QemuGuest.class);

    /** {@link #runtime()}. */
    public static final String RUNTIME = "qemu";
    /** The RAM block's name in checksums: QEMU's name for a pc machine's RAM. */
    public static final String RAM_BLOCK = "pc.ram";
    /** SHA-256 of no bytes: the device-state checksum until device state is captured. */
    static final String NO_DEVICE_STATE = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /** The longest unix socket path Linux takes (sun_path less its terminating NUL). */
    private static final int MAX_SOCKET_PATH = 107;
    private static final Duration QUIT_GRACE = Duration.ofSeconds(5);
    private static final Duration QEMU_IMG = Duration.ofSeconds(60);
    /** QEMU's {@code -name guest=} of a Ferry guest: {@code ferry:<owner>:<guestId>}. */
    private static final String NAME_PREFIX = "ferry:";

    private final QemuGuestSpec spec;
    private final Path datastore;
    private final Map<String, Long> generations;
    private final Runnable onFailure;
    private final QemuProcess process;

    /** Guards QMP (one command at a time) and {@link #state}. */
    private final Object lock = new Object();
    private GuestState state;            // guarded by lock
    private boolean closed;              // guarded by lock
    /** Set before a deliberate stop, so the process's exit is not taken for a failure. */
    private volatile boolean stopping;
    private volatile String failure;

    private QemuGuest(QemuGuestSpec spec, Path datastore, Map<String, Long> generations, Runnable onFailure,
                      QemuProcess process) {
        this.spec = spec;
        this.datastore = datastore;
        this.generations = Map.copyOf(generations);
        this.onFailure = onFailure;
        this.process = process;
    }

    /**
     * Makes the images that do not exist yet ({@code qemu-img create}), starts QEMU running and
     * connects to its QMP socket; {@code onFailure} runs (on another thread) if QEMU later exits
     * unasked. {@code generations}: each disk's ownership generation, for the host's fence report.
     * {@code owner} (the worker's host and datastore) is written into QEMU's name, so that a later
     * worker of the same host finds a QEMU its crashed predecessor left behind ({@link #stopOrphans}).
     *
     * @throws IOException if an image cannot be made, QEMU does not start, or its QMP does not answer
     */
    public static QemuGuest start(QemuSupport qemu, QemuGuestSpec spec, Path datastore, String owner,
                                  Map<String, Long> generations, Runnable onFailure) throws IOException {
        if (!qemu.available()) {
            throw new IllegalStateException("QEMU guests cannot run here: " + qemu.detail());
        }
        Files.createDirectories(datastore);
        Path socket = datastore.resolve(spec.guestId() + ".qmp");
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IOException("QMP socket path " + socket + " is longer than a unix socket takes ("
                    + MAX_SOCKET_PATH + " bytes): use a datastore with a shorter path");
        }
        List<Path> created = new ArrayList<>();
        QemuProcess process;
        try {
            for (DiskSpec disk : spec.disks()) {
                Path image = datastore.resolve(spec.imageFileName(disk));
                if (createImage(qemu.qemuImg(), image, spec.format(), disk.sizeBytes())) {
                    created.add(image);
                }
            }
            Files.deleteIfExists(socket);   // a stale one from a worker that died
            process = QemuProcess.start("QEMU of guest " + spec.guestId(),
                    commandLine(qemu.installation(), spec, owner, datastore, socket), socket, logFile(datastore, spec));
        } catch (IOException | RuntimeException e) {
            // a guest that never ran leaves nothing behind but its log, which says why
            for (Path image : created) {
                Files.deleteIfExists(image);
            }
            Files.deleteIfExists(socket);
            throw e;
        }
        QemuGuest guest = new QemuGuest(spec, datastore, generations, onFailure, process);
        try {
            synchronized (guest.lock) {
                guest.state = guest.queryState();
            }
        } catch (IOException | RuntimeException e) {
            guest.close();
            throw e;
        }
        process.onExit().whenComplete((code, error) -> guest.exited(code));
        log.info("QEMU guest {} started: pid {}, {} MiB, {} disk(s), accelerator {}, QMP {}", spec.guestId(),
                process.pid(), spec.memoryBytes() >> 20, spec.disks().size(), qemu.installation().accelerator(),
                socket);
        return guest;
    }

    /**
     * QEMU's command line: a pc machine, no defaults, no display, no network, vCPUs running; named
     * {@code ferry:<owner>:<guestId>}.
     */
    static List<String> commandLine(QemuInstallation qemu, QemuGuestSpec spec, String owner, Path datastore,
                                    Path socket) {
        List<String> command = new ArrayList<>(List.of(qemu.binary().toString(),
                "-name", "guest=" + option(name(owner, spec.guestId())),
                "-machine", "pc",
                "-accel", qemu.accelerator(),
                "-m", (spec.memoryBytes() >> 20) + "M",
                "-nodefaults", "-display", "none",
                "-qmp", "unix:" + option(socket.toString()) + ",server=on,wait=off"));
        int index = 0;
        for (DiskSpec disk : spec.disks()) {
            String drive = "disk" + index++;
            command.addAll(List.of(
                    "-drive", "if=none,id=" + drive + ",format=" + spec.format().qemuName() + ",file="
                            + option(datastore.resolve(spec.imageFileName(disk)).toString()),
                    "-device", "virtio-blk-pci,drive=" + drive));
        }
        return command;
    }

    private static String name(String owner, String guestId) {
        return NAME_PREFIX + owner + ":" + guestId;
    }

    /**
     * Stops every QEMU that a worker of {@code owner} started and left running: a worker killed
     * without its shutdown (SIGKILL, a crash) cannot quit its QEMUs, and the guests in them are
     * lost to the control plane once a new worker registers. Called when a worker starts, before
     * it starts QEMUs of its own; it matches QEMU's name, {@code ferry:<owner>:<guestId>}, on this
     * machine's processes that this user may see.
     *
     * @return the QEMU processes stopped, described for the log
     */
    public static List<String> stopOrphans(String owner) {
        String prefix = "guest=" + NAME_PREFIX + owner + ":";
        List<String> stopped = new ArrayList<>();
        ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(args -> java.util.Arrays.stream(args)
                        .anyMatch(a -> a.startsWith(prefix))).orElse(false))
                .forEach(p -> {
                    String guest = p.info().arguments().flatMap(args -> java.util.Arrays.stream(args)
                            .filter(a -> a.startsWith(prefix)).findFirst()).orElse("?").substring(prefix.length());
                    p.destroyForcibly();
                    stopped.add("pid " + p.pid() + " (guest " + guest + ")");
                });
        return stopped;
    }

    /** A value inside a QEMU option string: commas are doubled. */
    private static String option(String value) {
        return value.replace(",", ",,");
    }

    private static Path logFile(Path datastore, QemuGuestSpec spec) {
        return datastore.resolve(spec.guestId() + ".qemu.log");
    }

    /** An existing image is kept as it is (a disk that outlives a guest, or shared storage). True if made now. */
    private static boolean createImage(Path qemuImg, Path image, QemuGuestSpec.ImageFormat format, long sizeBytes)
            throws IOException {
        if (Files.exists(image)) {
            return false;
        }
        Path output = Files.createTempFile(image.getParent(), ".qemu-img-", ".txt");
        try {
            Process p = new ProcessBuilder(qemuImg.toString(), "create", "-q", "-f", format.qemuName(),
                    image.toString(), Long.toString(sizeBytes))
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            boolean exited = p.waitFor(QEMU_IMG.toSeconds(), TimeUnit.SECONDS);
            if (!exited || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("qemu-img create of " + image + " failed"
                        + (exited ? " (exit code " + p.exitValue() + ")" : " (no exit within " + QEMU_IMG.toSeconds()
                        + " s)") + ": " + Files.readString(output).strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while creating " + image, e);
        } finally {
            Files.deleteIfExists(output);
        }
        return true;
    }

    @Override
    public String id() {
        return spec.guestId();
    }

    @Override
    public String runtime() {
        return RUNTIME;
    }

    public QemuGuestSpec spec() {
        return spec;
    }

    /** The QEMU process's id. */
    public long pid() {
        return process.pid();
    }

    /** The image file of each disk, by disk id, in spec order. */
    public Map<String, Path> images() {
        Map<String, Path> images = new LinkedHashMap<>();
        spec.disks().forEach(d -> images.put(d.diskId(), datastore.resolve(spec.imageFileName(d))));
        return images;
    }

    @Override
    public GuestState state() {
        synchronized (lock) {
            return state;
        }
    }

    @Override
    public long memoryBytes() {
        return spec.memoryBytes();
    }

    @Override
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public Map<String, Long> activeDiskGenerations() {
        return process.isAlive() && !stopping ? generations : Map.of();
    }

    /** QMP {@code stop}. */
    @Override
    public void pause() {
        move(GuestState.PAUSED, "stop");
    }

    /** QMP {@code cont}. */
    @Override
    public void resume() {
        move(GuestState.RUNNING, "cont");
    }

    private void move(GuestState next, String command) {
        synchronized (lock) {
            checkLive();
            if (state == next) {
                return;
            }
            state.checkTransitionTo(next);
            try {
                process.qmp().execute(command);
                state = queryState();
            } catch (IOException e) {
                throw failed(command, e);
            }
            if (state != next) {
                throw new IllegalStateException("QEMU of guest " + id() + " is " + state.apiName() + " after "
                        + command + ", not " + next.apiName());
            }
        }
    }

    /**
     * Writes guest-physical memory {@code 0..memoryBytes} to {@code file} (QMP {@code pmemsave};
     * QEMU itself writes the file).
     *
     * @throws IllegalStateException unless the guest is paused (a running guest's memory moves under the copy)
     */
    public void saveMemory(Path file) {
        synchronized (lock) {
            checkLive();
            if (state != GuestState.PAUSED) {
                throw new IllegalStateException("guest " + id() + " is " + state.apiName()
                        + ": its memory is saved only while paused");
            }
            pmemsave(file);
        }
    }

    // Caller holds lock.
    private void pmemsave(Path file) {
        // QEMU writes at disk speed: give big guests time (30 s, plus a second per 50 MiB)
        Duration within = Duration.ofSeconds(30 + (spec.memoryBytes() >> 20) / 50);
        try {
            process.qmp().execute("pmemsave", Map.of("val", 0L, "size", spec.memoryBytes(),
                    "filename", file.toAbsolutePath().toString()), within);
        } catch (IOException e) {
            throw failed("pmemsave", e);
        }
    }

    @Override
    public GuestChecksums checksums() {
        synchronized (lock) {
            checkLive();
            boolean ran = state == GuestState.RUNNING;
            if (ran) {
                pause();
            }
            Path dump = datastore.resolve(id() + ".pmem");
            try {
                pmemsave(dump);
                String memory = Sha256.file(dump);
                List<GuestChecksums.DiskChecksum> disks = new ArrayList<>();
                for (DiskSpec disk : spec.disks()) {
                    disks.add(new GuestChecksums.DiskChecksum(disk.diskId(), disk.name(),
                            Sha256.file(datastore.resolve(spec.imageFileName(disk)))));
                }
                return new GuestChecksums(memory,
                        List.of(new GuestChecksums.BlockChecksum(RAM_BLOCK, spec.memoryBytes(), memory)), disks,
                        NO_DEVICE_STATE, 0);
            } catch (IOException e) {
                throw new UncheckedIOException("checksums of guest " + id() + " failed", e);
            } finally {
                try {
                    Files.deleteIfExists(dump);
                } catch (IOException e) {
                    log.warn("guest {}: memory dump {} remains: {}", id(), dump, e.toString());
                }
                if (ran && failure == null) {
                    resume();
                }
            }
        }
    }

    /** QMP {@code quit}, then SIGTERM and SIGKILL if QEMU lingers. The images stay. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            stopping = true;
        }
        process.quit(QUIT_GRACE);
        try {
            Files.deleteIfExists(datastore.resolve(id() + ".qmp"));
        } catch (IOException e) {
            log.warn("guest {}: QMP socket file remains: {}", id(), e.toString());
        }
        log.info("QEMU guest {} stopped (pid {})", id(), process.pid());
    }

    @Override
    public void deleteImages() throws IOException {
        close();
        for (Path image : images().values()) {
            Files.deleteIfExists(image);
        }
        Files.deleteIfExists(logFile(datastore, spec));
    }

    /** The process ended: fine when asked to, a failure of the guest otherwise. */
    private void exited(Integer exitCode) {
        if (stopping) {
            return;
        }
        failure = "QEMU (pid " + process.pid() + ") exited unexpectedly with code " + exitCode
                + (exitCode != null && exitCode > 128 ? " (signal " + (exitCode - 128) + ")" : "")
                + "; its last output: " + process.logTail(5);
        log.error("QEMU guest {} failed: {}", id(), failure);
        // the QMP connection stays for close(): a command waiting on it now reads its end and says why
        onFailure.run();
    }

    // Caller holds lock.
    private GuestState queryState() throws IOException {
        return QemuStatus.guestState(process.qmp().execute("query-status"));
    }

    private void checkLive() {
        if (failure != null) {
            throw new IllegalStateException("guest " + id() + " has failed: " + failure);
        }
        if (closed) {
            throw new IllegalStateException("guest " + id() + " is closed");
        }
    }

    /** A QMP command that failed: a dead QEMU says so, a refusing one is a conflict. */
    private IllegalStateException failed(String command, IOException e) {
        if (!process.isAlive()) {
            try {
                process.onExit().get(2, TimeUnit.SECONDS);   // let the exit be recorded first
            } catch (Exception ignored) {
                // the message below says enough
            }
            return new IllegalStateException("guest " + id() + " has failed: "
                    + Objects.requireNonNullElse(failure, "QEMU exited"), e);
        }
        return new IllegalStateException("QMP " + command + " on guest " + id() + " failed: " + e.getMessage(), e);
    }

    @Override
    public String toString() {
        return "QemuGuest[" + id() + ", pid " + process.pid() + "]";
    }
}
