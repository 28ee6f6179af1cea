package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.DiskLayout;
import io.ferry.channel.ErrorReply;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.channel.RamBlockLayout;
import io.ferry.channel.ReportedGuestState;
import io.ferry.channel.SaveFormat;
import io.ferry.channel.SavedGuestReport;
import io.ferry.channel.SavedLayoutReport;
import io.ferry.channel.WorkloadSettings;
import io.ferry.migration.FaultInjector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Save and restore as the worker routes them ({@link GuestSaves}): two workers on one datastore. */
class GuestSavesTest {

    @TempDir
    Path datastore;

    private GuestHost hostA;
    private GuestHost hostB;
    private ControlCommands a;
    private ControlCommands b;
    private final UUID guestId = UUID.randomUUID();
    private final UUID diskId = UUID.randomUUID();

    @BeforeEach
    void setUp() {
        hostA = new GuestHost(datastore, "instance-a");
        hostB = new GuestHost(datastore, "instance-b");
        a = commands("host-a", hostA);
        b = commands("host-b", hostB);
        hostA.create(new CreateGuestCommand(guestId, List.of(new RamBlockLayout("pc.ram", 16L << 20)),
                List.of(new DiskLayout(diskId, "root", 4L << 20, 1)), 4096, new WorkloadSettings(5000, 0.5, 50, 1)));
    }

    private static ControlCommands commands(String hostId, GuestHost guests) {
        Migrations migrations = new Migrations(hostId, guests, null, report -> { }, null, FaultInjector.none(),
                Duration.ofSeconds(1), new WorkerMetrics(hostId));
        return new ControlCommands(hostId, "instance-" + hostId, guests, migrations, null);
    }

    @AfterEach
    void tearDown() {
        hostA.close();
        hostB.close();
    }

    private static ControlCommands.Reply post(ControlCommands to, String path, String body) {
        return to.handle("POST", path, null, body.getBytes(StandardCharsets.UTF_8));
    }

    private String restoreBody(UUID newGuest, String file, UUID newDisk) {
        return "{\"guestId\":\"" + newGuest + "\",\"restoreFrom\":\"" + file + "\",\"disks\":[{\"savedDiskId\":\""
                + diskId + "\",\"diskId\":\"" + newDisk + "\",\"generation\":1}],\"workload\":{\"dirtyPagesPerSecond\":0,"
                + "\"hotSetFraction\":1.0,\"diskWritesPerSecond\":0,\"seed\":3}}";
    }

    @Test
    void aSavedGuestIsRestoredOnAnotherWorkerUnderNewDiskIds() throws Exception {
        Thread.sleep(200);   // the workload writes memory and disk
        ControlCommands.Reply saved = post(a, "/v1/guests/" + guestId + "/save", "");
        assertThat(saved.status()).as(String.valueOf(saved.body())).isEqualTo(201);
        SavedGuestReport report = (SavedGuestReport) saved.body();
        assertThat(report.format()).isEqualTo(SaveFormat.FERRY);
        assertThat(report.file()).startsWith("saves/" + guestId + "-").endsWith(".ferry");
        assertThat(Files.size(datastore.resolve(report.file()))).isEqualTo(report.bytes());
        assertThat(report.guest().state()).isEqualTo(ReportedGuestState.PAUSED);
        GuestChecksumsReport before = hostA.checksums(guestId);

        ControlCommands.Reply layout = post(b, "/v1/saves/layout", "{\"restoreFrom\":\"" + report.file() + "\"}");
        assertThat(layout.status()).as(String.valueOf(layout.body())).isEqualTo(200);
        SavedLayoutReport l = (SavedLayoutReport) layout.body();
        assertThat(l.ramBlocks()).containsExactly(new RamBlockLayout("pc.ram", 16L << 20));
        assertThat(l.disks()).containsExactly(new SavedLayoutReport.SavedDisk(diskId.toString(), "root", 4L << 20));
        assertThat(l.deviceStateBytes()).isEqualTo(4096);

        UUID restoredId = UUID.randomUUID();
        UUID newDisk = UUID.randomUUID();
        ControlCommands.Reply restored = post(b, "/v1/saves/restore", restoreBody(restoredId, report.file(), newDisk));
        assertThat(restored.status()).as(String.valueOf(restored.body())).isEqualTo(201);
        assertThat(((GuestReport) restored.body()).state()).isEqualTo(ReportedGuestState.PAUSED);
        GuestChecksumsReport after = hostB.checksums(restoredId);
        assertThat(after.memory()).isEqualTo(before.memory());
        assertThat(after.deviceState()).isEqualTo(before.deviceState());
        assertThat(after.disks()).hasSize(1);
        assertThat(after.disks().get(0).diskId()).isEqualTo(newDisk);
        assertThat(after.disks().get(0).sha256()).isEqualTo(before.disks().get(0).sha256());

        // a second save of the same guest is a new file
        SavedGuestReport again = (SavedGuestReport) post(a, "/v1/guests/" + guestId + "/save",
                "{\"format\":\"ferry\"}").body();
        assertThat(again.file()).isNotEqualTo(report.file());
    }

    @Test
    void aTruncatedFileIsRefusedWithItsOffsetAndLeavesNothing() throws Exception {
        SavedGuestReport report = (SavedGuestReport) post(a, "/v1/guests/" + guestId + "/save", "").body();
        Path whole = datastore.resolve(report.file());
        Path cut = whole.resolveSibling("cut.ferry");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(whole), (int) (report.bytes() / 2)));
        UUID newDisk = UUID.randomUUID();
        ControlCommands.Reply restored = post(b, "/v1/saves/restore",
                restoreBody(UUID.randomUUID(), "saves/cut.ferry", newDisk));
        assertThat(restored.status()).isEqualTo(422);
        assertThat(((ErrorReply) restored.body()).error()).contains("malformed at byte ");
        assertThat(hostB.reports()).isEmpty();
        try (Stream<Path> files = Files.list(datastore)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(newDisk.toString()));
        }
    }

    @Test
    void pathsOutsideTheDatastoreAre400AndMissingFiles422() {
        assertThat(post(b, "/v1/saves/layout", "{\"restoreFrom\":\"../x\"}").status()).isEqualTo(400);
        assertThat(post(b, "/v1/saves/layout", "{\"restoreFrom\":\"/etc/passwd\"}").status()).isEqualTo(400);
        ControlCommands.Reply missing = post(b, "/v1/saves/layout", "{\"restoreFrom\":\"saves/none.ferry\"}");
        assertThat(missing.status()).isEqualTo(422);
        assertThat(((ErrorReply) missing.body()).error()).contains("saves/none.ferry");
    }

    @Test
    void aQemuSaveOfMemoryThatIsNoWholeMiBIs422AndLeavesNoFile() throws Exception {
        UUID odd = UUID.randomUUID();
        hostA.create(new CreateGuestCommand(odd, List.of(new RamBlockLayout("pc.ram", (16L << 20) + 4096)), List.of(),
                4096, new WorkloadSettings(0, 1.0, 0, 1)));
        ControlCommands.Reply reply = post(a, "/v1/guests/" + odd + "/save", "{\"format\":\"qemu\"}");
        assertThat(reply.status()).isEqualTo(422);
        assertThat(((ErrorReply) reply.body()).error()).contains("whole number of MiB");
        assertThat(hostA.guest(odd).state()).isEqualTo(io.ferry.guest.GuestState.RUNNING);
        assertThat(Files.exists(datastore.resolve("saves"))).isFalse();
        ControlCommands.Reply qemu = post(a, "/v1/guests/" + guestId + "/save", "{\"format\":\"qemu\"}");
        assertThat(qemu.status()).isEqualTo(201);
        assertThat(((SavedGuestReport) qemu.body()).file()).endsWith(".qemu");
    }
}
