package io.ferry.migration;

import io.ferry.bench.GuestContent;
import io.ferry.migration.loopback.LoopbackMigration;
import io.ferry.channel.MigrationSettings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestChecksums;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.GuestState;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.SyntheticGuest;
import io.ferry.guest.WorkloadSpec;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.ferry.migration.transport.CertificateAuthority;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneTls;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Migrations over a TLS data plane between two guests of one process, each side with its own
 * worker certificate: byte-exact with either TLS implementation (RAM, images through the
 * non-sendfile path, post-copy's channels), and every way a peer must be refused — a certificate
 * of another CA, a valid certificate with the wrong job secret, a plain peer of a TLS worker and
 * the other way round — with the source's guest untouched and running.
 */
class DataPlaneTlsEngineTest {

    private static final long MIB = 1L << 20;
    private static final Duration YEAR = Duration.ofDays(365);

    private static CertificateAuthority ca;

    @TempDir
    Path datastore;

    @TempDir
    Path destinationStore;

    @BeforeAll
    static void authority() {
        ca = CertificateAuthority.create("ferry-test-data-plane-ca", YEAR);
    }

    private static DataPlaneSecurity tls(String worker, DataPlaneTls.Provider provider) {
        return DataPlaneSecurity.tls(ca.issue(worker, YEAR).tls(provider));
    }

    private static GuestSpec spec(WorkloadSpec workload, List<DiskSpec> disks) {
        return new GuestSpec(UUID.randomUUID().toString(),
                List.of(new RamBlockSpec("pc.ram", 28 * MIB), new RamBlockSpec("vga.vram", 4 * MIB)), disks, 4096,
                workload);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DataPlaneTls.Provider.class, names = {"OPENSSL", "JDK"})
    void aWritingGuestArrivesByteExactOverMutualTls(DataPlaneTls.Provider provider) throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(5000, 0.5, 0, 3), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(tls("worker-a", provider), tls("worker-b", provider))) {
            GuestContent.fillRandom(source.memory().blocks().get(0), 1);
            MigrationReport report = loopback.run(source, destination, 0, 300, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
            String sourceMemory = report.progress().verification().sourceMemory();
            assertThat(loopback.reports()).anySatisfy(r -> {
                assertThat(r.phase()).isEqualTo(MigrationPhase.VERIFIED);
                assertThat(r.progress().verification().destinationMemory()).isEqualTo(sourceMemory);
            });
            var dataPlane = report.progress().dataPlane();
            assertThat(dataPlane.tls()).isTrue();
            assertThat(dataPlane.protocol()).isEqualTo("TLSv1.3");
            assertThat(dataPlane.cipher()).startsWith("TLS_");
            assertThat(dataPlane.provider()).isEqualTo(provider == DataPlaneTls.Provider.JDK ? "jdk" : "openssl");
        }
    }

    @Test
    void certificatesFromPemFilesNamedAsCertManagerNamesThem(@TempDir Path secrets) throws Exception {
        ca.issue("worker-a", YEAR).writePem(secrets.resolve("a"));
        ca.issue("worker-b", YEAR).writePem(secrets.resolve("b"));
        DataPlaneSecurity a = DataPlaneSecurity.tls(DataPlaneTls.fromPem(secrets.resolve("a/tls.crt"),
                secrets.resolve("a/tls.key"), secrets.resolve("a/ca.crt"), DataPlaneTls.Provider.OPENSSL));
        DataPlaneSecurity b = DataPlaneSecurity.tls(DataPlaneTls.fromPem(secrets.resolve("b/tls.crt"),
                secrets.resolve("b/tls.key"), secrets.resolve("b/ca.crt"), DataPlaneTls.Provider.JDK));
        GuestSpec spec = spec(WorkloadSpec.idle(), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(a, b)) {   // OpenSSL talks to the JDK's TLS
            GuestContent.fillRandom(source.memory().blocks().get(0), 4);
            source.pause();
            GuestChecksums sent = source.checksums();
            MigrationReport report = loopback.run(source, destination, 0, 300, false, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(destination.state()).isEqualTo(GuestState.PAUSED);
            assertThat(destination.checksums().memory()).isEqualTo(sent.memory());
            assertThat(report.progress().dataPlane().provider()).isEqualTo("openssl");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DataPlaneTls.Provider.class, names = {"OPENSSL", "JDK"})
    void keyAndTrustManagersServeAsWellAsFiles(DataPlaneTls.Provider provider) throws Exception {
        DataPlaneSecurity a = DataPlaneSecurity.tls(ca.issue("worker-a", YEAR).tlsThroughManagers(provider));
        DataPlaneSecurity b = DataPlaneSecurity.tls(ca.issue("worker-b", YEAR).tlsThroughManagers(provider));
        GuestSpec spec = spec(WorkloadSpec.idle(), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(a, b)) {
            GuestContent.fillRandom(source.memory().blocks().get(0), 5);
            source.pause();
            GuestChecksums sent = source.checksums();
            MigrationReport report = loopback.run(source, destination, 0, 300, false, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(destination.checksums().memory()).isEqualTo(sent.memory());
            assertThat(report.progress().dataPlane().tls()).isTrue();
        }
    }

    @Test
    void aMissingCertificateFileIsNamed(@TempDir Path empty) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> DataPlaneTls.fromPem(empty.resolve("tls.crt"),
                empty.resolve("tls.key"), empty.resolve("ca.crt"), DataPlaneTls.Provider.AUTO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tls.crt");
    }

    @Test
    void copiedImagesArriveByteExactThroughTls() throws Exception {
        // with TLS the chunks cannot go by sendfile: they are read in and encrypted here
        GuestSpec spec = spec(new WorkloadSpec(2000, 0.5, 2000, 17), List.of(
                new DiskSpec(UUID.randomUUID().toString(), "virtio-disk0", 12 * MIB + 12 * 1024)));
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, destinationStore,
                     SyntheticGuest.IncomingImages.COPY);
             LoopbackMigration loopback = new LoopbackMigration(tls("worker-a", DataPlaneTls.Provider.AUTO),
                     tls("worker-b", DataPlaneTls.Provider.AUTO))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> source.diskWritesAcknowledged() > 500);
            MigrationReport report = loopback.run(source, destination, 0, 300, true, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            List<String> sourceDisks = report.progress().verification().sourceDisks();
            assertThat(sourceDisks).hasSize(1);
            assertThat(loopback.reports()).anySatisfy(r -> {
                assertThat(r.phase()).isEqualTo(MigrationPhase.VERIFIED);
                assertThat(r.progress().verification().destinationDisks()).isEqualTo(sourceDisks);
            });
            assertThat(report.progress().dataPlane().tls()).isTrue();
        }
    }

    @Test
    void aWritingGuestArrivesWholeOnThreeMultifdChannelsOverTls() throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(3000, 0.5, 0, 9), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(tls("worker-a", DataPlaneTls.Provider.AUTO),
                     tls("worker-b", DataPlaneTls.Provider.AUTO)).channels(3)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> source.memoryWrites() > 1000);
            MigrationReport report = loopback.run(source, destination, 0, 300, true, null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            String sourceMemory = report.progress().verification().sourceMemory();
            assertThat(loopback.reports()).anySatisfy(r -> {
                assertThat(r.phase()).isEqualTo(MigrationPhase.VERIFIED);
                assertThat(r.progress().verification().destinationMemory()).isEqualTo(sourceMemory);
            });
            assertThat(report.progress().dataPlane().tls()).isTrue();
        }
    }

    @Test
    void aPostcopyCompletesWithItsPreemptChannelOverTls() throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(20000, 0.5, 0, 5), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(tls("worker-a", DataPlaneTls.Provider.AUTO),
                     tls("worker-b", DataPlaneTls.Provider.AUTO))) {
            await().atMost(Duration.ofSeconds(30)).until(() -> source.memoryWrites() > 1000);
            MigrationReport report = loopback.run(source, destination, 8 * MIB, 50, false, false,
                    MigrationSettings.PostcopySettings.after(2), null);

            assertThat(report.phase()).as(report.reason()).isEqualTo(MigrationPhase.COMPLETED);
            assertThat(loopback.reports()).extracting(MigrationReport::phase).contains(MigrationPhase.POSTCOPY_ACTIVE);
            assertThat(report.progress().postcopy().requests()).isGreaterThan(0);
            assertThat(report.progress().dataPlane().tls()).isTrue();
            assertThat(destination.state()).isEqualTo(GuestState.RUNNING);
        }
    }

    @Test
    void aWorkerWithACertificateOfAnotherCaIsRefused() throws Exception {
        CertificateAuthority other = CertificateAuthority.create("somebody-elses-ca", YEAR);
        CertificateAuthority.Issued foreign = other.issue("intruder", YEAR);
        // it trusts our CA, so only the destination's check of its certificate can stop it
        DataPlaneSecurity intruder = DataPlaneSecurity.tls(new CertificateAuthority.Issued(foreign.key(),
                foreign.certificate(), ca.certificate()).tls(DataPlaneTls.Provider.AUTO));
        assertRefused(intruder, tls("worker-b", DataPlaneTls.Provider.AUTO), "TLS");
    }

    @Test
    void aValidCertificateWithTheWrongJobSecretIsRefused() throws Exception {
        GuestSpec spec = spec(WorkloadSpec.idle(), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(tls("worker-a", DataPlaneTls.Provider.AUTO),
                     tls("worker-b", DataPlaneTls.Provider.AUTO))) {
            GuestContent.fillRandom(source.memory().blocks().get(0), 2);
            GuestChecksums untouched = destination.checksums();
            MigrationReport report = loopback.runWithWrongSecret(source, destination);

            assertThat(report.phase()).isEqualTo(MigrationPhase.FAILED);
            assertThat(report.reason()).contains("refused the connection");
            assertThat(report.progress().ram().transferred()).isZero();
            assertThat(destination.checksums().memory()).isEqualTo(untouched.memory());
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
        }
    }

    @Test
    void aTlsSourceRefusesAPlainDestination() throws Exception {
        assertRefused(tls("worker-a", DataPlaneTls.Provider.AUTO), DataPlaneSecurity.plain(),
                "the destination's data plane is plain TCP, but this worker's requires TLS");
    }

    @Test
    void aPlainSourceIsRefusedByATlsDestination() throws Exception {
        assertRefused(DataPlaneSecurity.plain(), tls("worker-b", DataPlaneTls.Provider.AUTO),
                "the destination's data plane requires TLS with a client certificate, but this worker has no "
                        + "data-plane certificate");
    }

    private void assertRefused(DataPlaneSecurity sourceSide, DataPlaneSecurity destinationSide, String reason)
            throws Exception {
        GuestSpec spec = spec(new WorkloadSpec(1000, 0.5, 0, 9), List.of());
        try (SyntheticGuest source = SyntheticGuest.create(spec, datastore);
             SyntheticGuest destination = SyntheticGuest.createIncoming(spec, datastore,
                     SyntheticGuest.IncomingImages.SHARED);
             LoopbackMigration loopback = new LoopbackMigration(sourceSide, destinationSide)) {
            GuestChecksums untouched = destination.checksums();
            long started = System.nanoTime();
            MigrationReport report = loopback.run(source, destination, 0, 300, false, null);

            assertThat(report.phase()).isEqualTo(MigrationPhase.FAILED);
            assertThat(report.reason()).contains(reason);
            // refused at once, not by a time-out
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
            assertThat(report.progress().ram().transferred()).isZero();
            assertThat(destination.checksums().memory()).isEqualTo(untouched.memory());
            assertThat(source.state()).isEqualTo(GuestState.RUNNING);
        }
    }
}
