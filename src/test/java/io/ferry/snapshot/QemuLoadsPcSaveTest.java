package io.ferry.snapshot;

import io.ferry.guest.qemu.Qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlock;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The installed QEMU loads a {@link QemuPcSave} of a synthetic guest, and its guest-physical
 * memory then equals the guest's. Skipped only where {@code qemu-system-x86_64} is not installed
 * (CI installs it).
 */
class QemuLoadsPcSaveTest {

    private static final long MIB = 1L << 20;
    private static final int PAGE = RamBlock.PAGE_SIZE;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void qemuAcceptsTheSaveAndPmemsaveOfItsMemoryEqualsTheGuests() throws Exception {
        Path qemu = qemuBinary();
        // two blocks, so pc.ram is the guest's memory laid end to end; 32 MiB as QEMU's -m 32M
        GuestSpec spec = new GuestSpec("pc-guest", List.of(new RamBlockSpec("low", 24 * MIB),
                new RamBlockSpec("high", 8 * MIB)), List.of(), 64, WorkloadSpec.idle());
        Path file = dir.resolve("guest.qemu");
        byte[] memory;
        try (SyntheticGuest guest = SyntheticGuest.create(spec, dir.resolve("datastore"))) {
            Random random = new Random(5);
            guest.memory().blocks().forEach(block -> SavedGuests.fillSomePages(block, random));
            fillLegacyWindow(guest.memory().blocks().get(0), random);
            guest.pause();
            QemuPcSave.write(guest, file);
            assertThat(QemuPcSave.ramMiB(guest)).isEqualTo(32);
            memory = bytesOf(guest);
        }
        Path socket = dir.resolve("qmp.sock");
        Path loaded = dir.resolve("pmemsave.bin");
        Process process = new ProcessBuilder(qemu.toString(), "-M", "pc", "-m", "32M", "-nodefaults", "-display",
                "none", "-S", "-incoming", "exec:cat " + file, "-qmp", "unix:" + socket + ",server=on,wait=off")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        try (Qmp qmp = connect(socket, process)) {
            assertThat(awaitIncoming(qmp)).as("incoming migration status; QEMU said: %s", log()).isEqualTo("completed");
            assertThat(qmp.execute("query-status", Map.of()).get("status").asString()).isEqualTo("paused");

            openLegacyWindowAsRam(qmp);
            qmp.execute("pmemsave", Map.of("val", 0, "size", memory.length, "filename", loaded.toString()));
            qmp.execute("quit", Map.of());
        } finally {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        byte[] got = Files.readAllBytes(loaded);
        assertThat(got.length).isEqualTo(memory.length);
        assertThat(firstDifferingPage(memory, got)).as("first guest-physical page that differs").isEqualTo(-1);
    }

    private static Path qemuBinary() {
        Path found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .map(d -> Path.of(d, "qemu-system-x86_64")).filter(Files::isExecutable).findFirst().orElse(null);
        assumeThat(found).as("qemu-system-x86_64 is not installed (not on PATH): the QEMU load check is skipped")
                .isNotNull();
        return found;
    }

    /** QMP once QEMU has made its socket (within 20 s). */
    private static Qmp connect(Path socket, Process qemu) throws Exception {
        for (int i = 0; i < 200 && !Files.exists(socket); i++) {
            if (!qemu.isAlive()) {
                throw new java.io.IOException("QEMU exited with " + qemu.exitValue() + " before its QMP socket appeared");
            }
            Thread.sleep(100);
        }
        return Qmp.connect(socket, java.time.Duration.ofSeconds(20));
    }

    private static String awaitIncoming(Qmp qmp) throws Exception {
        for (int i = 0; i < 600; i++) {
            String status = qmp.execute("query-migrate", Map.of()).path("status").asString("");
            if (status.equals("completed") || status.equals("failed")) {
                return status;
            }
            Thread.sleep(100);
        }
        return "not finished after 60 s";
    }

    /**
     * With no device state in the stream, the i440FX chipset on the destination is at reset: its
     * PAM registers route 0xC0000–0xFFFFF to ROM/PCI space, not to pc.ram, so guest-physical reads
     * there do not show the RAM the stream loaded. Setting PAM0..PAM6 to read/write RAM (0x33), as
     * firmware does when it shadows the BIOS, makes all of pc.ram readable by address. The writes go
     * through the PCI configuration ports 0xCF8/0xCFC (registers 0x59..0x5F of device 0:0.0).
     */
    private static void openLegacyWindowAsRam(Qmp qmp) throws Exception {
        human(qmp, "o /w 0xcf8 0x80000058");
        human(qmp, "o /b 0xcfd 0x33");   // 0x59 PAM0 (0xF0000-0xFFFFF in its high nibble)
        human(qmp, "o /b 0xcfe 0x33");   // 0x5A PAM1
        human(qmp, "o /b 0xcff 0x33");   // 0x5B PAM2
        human(qmp, "o /w 0xcf8 0x8000005c");
        human(qmp, "o /w 0xcfc 0x33333333");   // 0x5C..0x5F PAM3..PAM6
    }

    private static void human(Qmp qmp, String commandLine) throws java.io.IOException {
        qmp.execute("human-monitor-command", Map.of("command-line", commandLine));
    }

    /** Data in every page of the legacy window 0xA0000–0xFFFFF, which the chipset maps specially. */
    private static void fillLegacyWindow(RamBlock low, Random random) {
        byte[] page = new byte[PAGE];
        for (long p = 0xA0000 / PAGE; p < 0x100000 / PAGE; p++) {
            random.nextBytes(page);
            low.writePage(p, Unpooled.wrappedBuffer(page));
        }
    }

    private static byte[] bytesOf(SyntheticGuest guest) {
        ByteBuf all = Unpooled.buffer((int) guest.memory().totalBytes());
        for (RamBlock block : guest.memory().blocks()) {
            for (long p = 0; p < block.pageCount(); p++) {
                block.readPage(p, all);
            }
        }
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        return bytes;
    }

    private static long firstDifferingPage(byte[] expected, byte[] actual) {
        for (int offset = 0; offset < expected.length; offset += PAGE) {
            if (!java.util.Arrays.equals(expected, offset, offset + PAGE, actual, offset, offset + PAGE)) {
                return offset / PAGE;
            }
        }
        return -1;
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("qemu.log"));
        } catch (java.io.IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
