package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DiskLayout;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.channel.GuestRuntime;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.ReportedGuestState;
import io.ferry.channel.RuntimeAvailability;
import io.ferry.channel.WorkloadSettings;
import io.ferry.guest.qemu.QemuGuest;
import io.ferry.guest.qemu.QemuSupport;
import io.ferry.migration.FaultInjector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

/**
 * Issue 16, item 1, on the worker: a real qemu-system-x86_64 guest of 64 MiB with one qcow2 disk,
 * driven through the worker's control commands. Needs QEMU and qemu-img (.ci/run installs them).
 */
class QemuGuestWorkerTest {

    private static final long MIB = 1L << 20;
    private static QemuSupport qemu;

    @TempDir
    Path datastore;

    private GuestHost guests;
    private ControlCommands commands;
    private final JsonMapper json = JsonMapper.builder().build();

    @BeforeAll
    static void probe() {
        qemu = QemuSupport.probe(QemuSupport.DEFAULT_BINARY);
        assertThat(qemu.available()).as("QEMU on this machine (install qemu-system-x86 and qemu-utils): %s",
                qemu.detail()).isTrue();
    }

    @BeforeEach
    void setUp() {
        guests = new GuestHost(datastore, "test-instance", GuestRuntimes.of("host-a", qemu));
        commands = commands(guests, "host-a");
    }

    @AfterEach
    void tearDown() {
        guests.close();
    }

    private static ControlCommands commands(GuestHost guests, String hostId) {
        Migrations migrations = new Migrations(hostId, guests, null, report -> { }, null, FaultInjector.none(),
                Duration.ofSeconds(1), new WorkerMetrics(hostId));
        return new ControlCommands(hostId, "test-instance", guests, migrations, null);
    }

    private ControlCommands.Reply createQemuGuest(ControlCommands commands, UUID guestId, UUID diskId) {
        CreateGuestCommand command = new CreateGuestCommand(guestId, List.of(new RamBlockLayout("pc.ram", 64 * MIB)),
                List.of(new DiskLayout(diskId, "root", 8 * MIB, 1)), 4096, new WorkloadSettings(0, 0.5, 0, 1),
                GuestRuntime.QEMU);
        return commands.handle("POST", "/v1/guests", null, json.writeValueAsBytes(command));
    }

    private ControlCommands.Reply post(String path) {
        return commands.handle("POST", path, null, new byte[0]);
    }

    @Test
    void aQemuGuestRunsPausesChecksumsResumesAndIsDeletedWithItsFiles() throws Exception {
        UUID guestId = UUID.randomUUID();
        UUID diskId = UUID.randomUUID();
        ControlCommands.Reply created = createQemuGuest(commands, guestId, diskId);
        assertThat(created.status()).as("%s", created.body()).isEqualTo(201);
        GuestReport report = (GuestReport) created.body();
        assertThat(report.state()).isEqualTo(ReportedGuestState.RUNNING);
        assertThat(report.memoryBytes()).isEqualTo(64 * MIB);

        QemuGuest guest = (QemuGuest) guests.hosted(guestId);
        long pid = guest.pid();
        assertThat(ProcessHandle.of(pid)).get().matches(ProcessHandle::isAlive);
        Path image = datastore.resolve(diskId + ".qcow2");
        assertThat(image).exists();
        assertThat(Files.readAllBytes(image)).startsWith('Q', 'F', 'I', (byte) 0xfb);   // qcow2's magic
        assertThat(datastore.resolve(guestId + ".qmp")).exists();

        ControlCommands.Reply paused = post("/v1/guests/" + guestId + "/pause");
        assertThat(paused.status()).as("%s", paused.body()).isEqualTo(200);
        assertThat(((GuestReport) paused.body()).state()).isEqualTo(ReportedGuestState.PAUSED);
        assertThat(((GuestReport) paused.body()).stateSeq()).isGreaterThan(report.stateSeq());

        GuestChecksumsReport first = checksums(guestId);
        GuestChecksumsReport second = checksums(guestId);
        assertThat(second.memory()).isEqualTo(first.memory());
        assertThat(second.disks()).isEqualTo(first.disks());
        assertThat(first.ramBlocks()).singleElement().satisfies(b -> {
            assertThat(b.name()).isEqualTo("pc.ram");
            assertThat(b.sizeBytes()).isEqualTo(64 * MIB);
            assertThat(b.sha256()).isEqualTo(first.memory());
        });
        assertThat(first.disks()).singleElement().satisfies(d -> {
            assertThat(d.diskId()).isEqualTo(diskId);
            assertThat(d.name()).isEqualTo("root");
            assertThat(d.sha256()).isEqualTo(sha256(Files.readAllBytes(image)));
        });
        assertThat(datastore.resolve(guestId + ".pmem")).as("the checksum's memory dump is removed").doesNotExist();

        // the memory checksum is SHA-256 of what pmemsave writes
        Path dump = datastore.resolve("dump.bin");
        guest.saveMemory(dump);
        byte[] memory = Files.readAllBytes(dump);
        assertThat(memory).hasSize((int) (64 * MIB));
        assertThat(sha256(memory)).isEqualTo(first.memory());
        // a pc machine's firmware is in there: the checksum is not that of zeroes
        assertThat(first.memory()).isNotEqualTo(sha256(new byte[(int) (64 * MIB)]));

        ControlCommands.Reply resumed = post("/v1/guests/" + guestId + "/resume");
        assertThat(resumed.status()).as("%s", resumed.body()).isEqualTo(200);
        assertThat(((GuestReport) resumed.body()).state()).isEqualTo(ReportedGuestState.RUNNING);

        ControlCommands.Reply deleted = commands.handle("DELETE", "/v1/guests/" + guestId, "deleteImages=true",
                new byte[0]);
        assertThat(deleted.status()).as("%s", deleted.body()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        assertThat(image).doesNotExist();
        assertThat(datastore.resolve(guestId + ".qmp")).doesNotExist();
        assertThat(datastore.resolve(guestId + ".qemu.log")).doesNotExist();
        assertThat(guests.reports()).isEmpty();
    }

    @Test
    void aQemuProcessKilledUnderTheWorkerFailsItsGuestWithTheReason() throws Exception {
        UUID guestId = UUID.randomUUID();
        ControlCommands.Reply created = createQemuGuest(commands, guestId, UUID.randomUUID());
        assertThat(created.status()).as("%s", created.body()).isEqualTo(201);
        long seq = ((GuestReport) created.body()).stateSeq();
        long pid = ((QemuGuest) guests.hosted(guestId)).pid();

        assertThat(ProcessHandle.of(pid).orElseThrow().destroyForcibly()).isTrue();

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(guests.reports()).singleElement()
                .satisfies(r -> {
                    assertThat(r.state()).isEqualTo(ReportedGuestState.FAILED);
                    assertThat(r.stateSeq()).isGreaterThan(seq);
                    assertThat(r.failure()).contains("pid " + pid).contains("exited unexpectedly")
                            .contains("code 137").contains("signal 9");
                }));
        // nothing but deleting it remains
        ControlCommands.Reply pause = post("/v1/guests/" + guestId + "/pause");
        assertThat(pause.status()).isEqualTo(409);
        assertThat(((ErrorReply) pause.body()).error()).contains("has failed");
        assertThat(commands.handle("GET", "/v1/guests/" + guestId + "/checksums", null, new byte[0]).status())
                .isEqualTo(409);
        assertThat(commands.handle("DELETE", "/v1/guests/" + guestId, "deleteImages=true", new byte[0]).status())
                .isEqualTo(204);
        assertThat(guests.reports()).isEmpty();
    }

    @Test
    void aLaterWorkerOfTheSameHostAndDatastoreStopsTheQemuAnEarlierOneLeftRunning() {
        String owner = "host-o@" + UUID.randomUUID();
        GuestHost crashed = new GuestHost(datastore, "earlier-instance", GuestRuntimes.of("host-o", owner, qemu));
        UUID guestId = UUID.randomUUID();
        assertThat(createQemuGuest(commands(crashed, "host-o"), guestId, UUID.randomUUID()).status()).isEqualTo(201);
        long pid = ((QemuGuest) crashed.hosted(guestId)).pid();
        // the earlier worker is gone without closing its guests (SIGKILL): nothing of another owner is touched
        assertThat(QemuGuest.stopOrphans("host-o@" + UUID.randomUUID())).isEmpty();
        assertThat(QemuGuest.stopOrphans("host-o")).isEmpty();
        assertThat(QemuGuest.stopOrphans(owner)).containsExactly("pid " + pid + " (guest " + guestId + ")");
        await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        crashed.close();
    }

    @Test
    void aQemuGuestIsNotMigratedNorSampled() {
        UUID guestId = UUID.randomUUID();
        assertThat(createQemuGuest(commands, guestId, UUID.randomUUID()).status()).isEqualTo(201);
        ControlCommands.Reply sampled = commands.handle("POST", "/v1/guests/" + guestId + "/dirty-rate", null,
                new byte[0]);
        assertThat(sampled.status()).isEqualTo(422);
        assertThat(((ErrorReply) sampled.body()).error()).contains("not supported yet");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> guests.migrating(guestId))
                .isInstanceOf(RuntimeRefusedException.class).hasMessageContaining("migration of qemu guests");
    }

    @Test
    void aWorkerWhoseQemuBinaryCannotRunRefusesQemuGuestsNamingWhy() {
        for (String bogus : List.of("/nonexistent/qemu-system-x86_64", "/bin/false")) {
            QemuSupport support = QemuSupport.probe(bogus);
            assertThat(support.available()).isFalse();
            GuestHost host = new GuestHost(datastore, "test-instance", GuestRuntimes.of("host-q", support));
            try {
                assertThat(host.runtimes()).containsExactly(
                        new RuntimeAvailability(GuestRuntime.SYNTHETIC, true, "built in"),
                        new RuntimeAvailability(GuestRuntime.QEMU, false, support.detail()));
                assertThat(support.detail()).contains(bogus);
                ControlCommands.Reply refused = createQemuGuest(commands(host, "host-q"), UUID.randomUUID(),
                        UUID.randomUUID());
                assertThat(refused.status()).isEqualTo(422);
                assertThat(((ErrorReply) refused.body()).error())
                        .contains("host 'host-q' cannot run qemu guests").contains(bogus);
                assertThat(host.reports()).isEmpty();
            } finally {
                host.close();
            }
        }
        assertThat(QemuSupport.probe("/bin/false").detail()).contains("--version failed");
    }

    @Test
    void aQemuThatWillNotStartIsRefusedWithItsLastWordsAndLeavesNoImage(@TempDir Path bin) throws Exception {
        Path fake = bin.resolve("qemu-system-x86_64");
        Files.writeString(fake, """
                #!/bin/sh
                if [ "$1" = "--version" ]; then echo "QEMU emulator version 0.0 (fake)"; exit 0; fi
                echo "fake qemu: no machine today" >&2
                exit 3
                """);
        assertThat(fake.toFile().setExecutable(true)).isTrue();
        QemuSupport support = QemuSupport.probe(fake.toString());
        assertThat(support.available()).as(support.detail()).isTrue();
        GuestHost host = new GuestHost(datastore, "test-instance", GuestRuntimes.of("host-f", support));
        try {
            ControlCommands.Reply refused = createQemuGuest(commands(host, "host-f"), UUID.randomUUID(),
                    UUID.randomUUID());
            assertThat(refused.status()).isEqualTo(422);
            assertThat(((ErrorReply) refused.body()).error()).contains("QEMU could not start guest")
                    .contains("exited with code 3").contains("fake qemu: no machine today");
            assertThat(host.reports()).isEmpty();
            try (var files = Files.list(datastore)) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .noneMatch(n -> n.endsWith(".qcow2") || n.endsWith(".qmp"));
            }
        } finally {
            host.close();
        }
    }

    private GuestChecksumsReport checksums(UUID guestId) {
        ControlCommands.Reply reply = commands.handle("GET", "/v1/guests/" + guestId + "/checksums", null, new byte[0]);
        assertThat(reply.status()).as("%s", reply.body()).isEqualTo(200);
        return (GuestChecksumsReport) reply.body();
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
