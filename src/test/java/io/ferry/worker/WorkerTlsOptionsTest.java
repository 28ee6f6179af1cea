package io.ferry.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.migration.transport.CertificateAuthority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The worker's data-plane TLS options: all three files or none, and the handshake timeout. */
class WorkerTlsOptionsTest {

    private static WorkerCommand parse(String... extra) {
        List<String> args = new ArrayList<>(List.of("--host-id", "host-a", "--control-plane-url",
                "http://127.0.0.1:8080", "--datastore", "/tmp/ferry-options-test"));
        args.addAll(List.of(extra));
        WorkerCommand command = new WorkerCommand();
        new CommandLine(command).parseArgs(args.toArray(String[]::new));
        return command;
    }

    @Test
    void withoutCertificatesTheDataPlaneIsPlainWithAFiveSecondHandshakeTimeout() {
        var security = parse().dataPlaneSecurity();
        assertThat(security.encrypted()).isFalse();
        assertThat(security.handshakeTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(parse("--data-handshake-timeout-ms", "1500").dataPlaneSecurity().handshakeTimeout())
                .isEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void allThreeFilesTurnTlsOn(@TempDir Path certs) {
        CertificateAuthority.create("options-test-ca", Duration.ofDays(1)).issue("host-a", Duration.ofDays(1))
                .writePem(certs);
        var security = parse("--data-tls-cert", certs.resolve("tls.crt").toString(), "--data-tls-key",
                certs.resolve("tls.key").toString(), "--data-tls-ca", certs.resolve("ca.crt").toString(),
                "--data-tls-provider", "jdk").dataPlaneSecurity();
        assertThat(security.encrypted()).isTrue();
        assertThat(security.tls().providerName()).isEqualTo("jdk");
    }

    @Test
    void aMissingFileOptionIsAMistakeNotAPlainDataPlane(@TempDir Path certs) {
        assertThatThrownBy(() -> parse("--data-tls-cert", certs.resolve("tls.crt").toString()).dataPlaneSecurity())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--data-tls-cert, --data-tls-key and --data-tls-ca");
    }

    @Test
    void anUnknownProviderIsNamed(@TempDir Path certs) {
        CertificateAuthority.create("options-test-ca", Duration.ofDays(1)).issue("host-a", Duration.ofDays(1))
                .writePem(certs);
        assertThatThrownBy(() -> parse("--data-tls-cert", certs.resolve("tls.crt").toString(), "--data-tls-key",
                certs.resolve("tls.key").toString(), "--data-tls-ca", certs.resolve("ca.crt").toString(),
                "--data-tls-provider", "gnutls").dataPlaneSecurity())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("auto, openssl or jdk");
    }

    @Test
    void controlChannelTlsNeedsAllThreeFilesAndHttpsControlPlaneUrls(@TempDir Path certs) {
        CertificateAuthority.create("options-test-ca", Duration.ofDays(1)).issue("host-a", Duration.ofDays(1))
                .writePem(certs);
        assertThat(parse().controlChannelTls()).as("none given: plain").isNull();
        assertThatThrownBy(() -> parse("--control-tls-key", certs.resolve("tls.key").toString()).controlChannelTls())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--control-tls-cert, --control-tls-key and --control-tls-ca");
        ControlChannelTls tls = parse("--control-tls-cert", certs.resolve("tls.crt").toString(), "--control-tls-key",
                certs.resolve("tls.key").toString(), "--control-tls-ca", certs.resolve("ca.crt").toString(),
                "--control-tls-peer-names", "ferry-control-plane,cp.example").controlChannelTls();
        assertThat(tls.controlPlaneNames()).containsExactlyInAnyOrder("ferry-control-plane", "cp.example");
        // a worker with control-channel TLS never reports in clear text
        assertThatThrownBy(() -> new WorkerConfig("host-a", List.of(java.net.URI.create("http://127.0.0.1:8080")),
                "127.0.0.1", "127.0.0.1", 0, 0, certs, 1L << 30, 2, Duration.ofSeconds(1), Duration.ofSeconds(1),
                "token", new WorkerSecurity(io.ferry.migration.transport.DataPlaneSecurity.plain(), tls)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be https");
    }

    @Test
    void beyondLoopbackAPlainDataPlaneMustBeAskedFor(@TempDir Path certs) {
        assertThatThrownBy(() -> parse("--bind", "0.0.0.0").dataPlaneSecurity())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("guest memory would cross the network in clear")
                .hasMessageContaining("--allow-plain-data-plane");
        assertThat(parse("--bind", "0.0.0.0", "--allow-plain-data-plane").dataPlaneSecurity().encrypted()).isFalse();
        assertThat(parse("--bind", "127.0.0.1").dataPlaneSecurity().encrypted()).as("loopback: plain is fine")
                .isFalse();
        CertificateAuthority.create("options-test-ca", Duration.ofDays(1)).issue("host-a", Duration.ofDays(1))
                .writePem(certs);
        assertThat(parse("--bind", "0.0.0.0", "--data-tls-cert", certs.resolve("tls.crt").toString(),
                "--data-tls-key", certs.resolve("tls.key").toString(), "--data-tls-ca",
                certs.resolve("ca.crt").toString()).dataPlaneSecurity().encrypted()).isTrue();
    }
}
