package io.ferry.channel.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.migration.transport.CertificateAuthority;
import io.ferry.testing.MovableClock;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEM material as cert-manager and Helm write it, read again after a rotation (the next
 * handshake presents the new certificate), a bad rotation kept out, and peers trusted by chain
 * and name.
 */
class TlsMaterialTest {

    @TempDir
    Path dir;

    private final CertificateAuthority ca = CertificateAuthority.create("material-test-ca", Duration.ofDays(1));
    private final MovableClock clock = new MovableClock(Instant.parse("2026-12-06T00:00:00Z"));

    private TlsMaterial material(Duration recheck) {
        return TlsMaterial.fromPem(dir.resolve("tls.crt"), dir.resolve("tls.key"), dir.resolve("ca.crt"), recheck,
                clock);
    }

    @Test
    void aRotatedCertificateIsPresentedByTheNextHandshakeAndABrokenRotationIsKeptOut() throws Exception {
        CertificateAuthority.Issued first = ca.issue("ferry-worker", Duration.ofDays(1));
        first.writePem(dir);
        TlsMaterial material = material(Duration.ofSeconds(30));
        assertThat(servedSerial(material)).isEqualTo(first.certificate().getSerialNumber());

        CertificateAuthority.Issued second = ca.issue("ferry-worker", Duration.ofDays(2));
        second.writePem(dir);
        assertThat(servedSerial(material)).as("not looked at before the interval")
                .isEqualTo(first.certificate().getSerialNumber());
        clock.advance(Duration.ofSeconds(31));
        assertThat(servedSerial(material)).as("after the interval").isEqualTo(second.certificate().getSerialNumber());

        // a key that is not a key: the certificate in use stays
        Files.writeString(dir.resolve("tls.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        ca.issue("ferry-worker", Duration.ofDays(3)).writePem(dir.resolve("other"));
        Files.copy(dir.resolve("other/tls.crt"), dir.resolve("tls.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        clock.advance(Duration.ofSeconds(31));
        assertThat(servedSerial(material)).isEqualTo(second.certificate().getSerialNumber());
    }

    @Test
    void aPeerIsTrustedByItsChainAndItsNameNotByTheHostItIsReachedAt() throws Exception {
        ca.issue("ferry-control-plane", Duration.ofDays(1)).writePem(dir);
        TlsMaterial material = material(Duration.ofSeconds(30));
        var onlyTheWorkers = material.trustManager(Set.of("ferry-worker"));
        X509Certificate worker = ca.issue("ferry-worker", Duration.ofDays(1)).certificate();
        X509Certificate otherRole = ca.issue("ferry-control-plane", Duration.ofDays(1)).certificate();
        X509Certificate stranger = CertificateAuthority.create("other-ca", Duration.ofDays(1))
                .issue("ferry-worker", Duration.ofDays(1)).certificate();

        onlyTheWorkers.checkServerTrusted(new X509Certificate[] {worker}, "ECDHE_ECDSA");
        onlyTheWorkers.checkClientTrusted(new X509Certificate[] {worker}, "ECDSA");
        assertThatThrownBy(() -> onlyTheWorkers.checkServerTrusted(new X509Certificate[] {otherRole}, "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessage("the peer's certificate names [ferry-control-plane, localhost], not ferry-worker");
        assertThatThrownBy(() -> onlyTheWorkers.checkServerTrusted(new X509Certificate[] {stranger}, "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class);
        assertThatThrownBy(() -> onlyTheWorkers.checkClientTrusted(new X509Certificate[0], "ECDSA"))
                .isInstanceOf(CertificateException.class).hasMessageContaining("no certificate");
        assertThat(material.trustManager(Set.of()).getAcceptedIssuers()).containsExactly(ca.certificate());
    }

    @Test
    void anRsaKeyInPkcs1AsHelmWritesItIsRead() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair keys = generator.generateKeyPair();
        Instant now = Instant.now();
        X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                new X500Name("CN=helm-made"), BigInteger.TEN, Date.from(now.minusSeconds(60)),
                Date.from(now.plusSeconds(3600)), new X500Name("CN=helm-made"), keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
        write(dir.resolve("tls.crt"), certificate);
        write(dir.resolve("ca.crt"), certificate);
        write(dir.resolve("tls.key"), keys.getPrivate());
        assertThat(Files.readString(dir.resolve("tls.key"))).startsWith("-----BEGIN RSA PRIVATE KEY-----");

        TlsMaterial material = material(Duration.ofSeconds(30));
        assertThat(material.certificate()).isEqualTo(certificate);
        assertThat(material.keyManager().getPrivateKey(material.keyManager().chooseServerAlias("RSA", null, null)))
                .isEqualTo(keys.getPrivate());
        assertThat(material.keyManager().chooseServerAlias("EC", null, null)).as("no EC key here").isNull();
    }

    @Test
    void missingAndMismatchedFilesAreNamed() {
        ca.issue("ferry-worker", Duration.ofDays(1)).writePem(dir);
        ca.issue("ferry-worker", Duration.ofDays(1)).writePem(dir.resolve("rsa-less"));
        assertThatThrownBy(() -> TlsMaterial.fromPem(dir.resolve("nope.crt"), dir.resolve("tls.key"),
                dir.resolve("ca.crt"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nope.crt");
        assertThatThrownBy(() -> TlsMaterial.fromPem(dir.resolve("tls.key"), dir.resolve("tls.key"),
                dir.resolve("ca.crt"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("certificates from");
    }

    /** The serial number of the certificate a server with {@code material} presents to a new client. */
    private BigInteger servedSerial(TlsMaterial material) throws Exception {
        SSLContext server = material.sslContext(Set.of());
        SSLContext client = SSLContext.getInstance("TLSv1.3");
        client.init(null, new javax.net.ssl.TrustManager[] {material.trustManager(Set.of())}, null);
        try (SSLServerSocket listening = (SSLServerSocket) server.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AtomicReference<Throwable> serverError = new AtomicReference<>();
            CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> {
                try (SSLSocket socket = (SSLSocket) listening.accept()) {
                    socket.startHandshake();
                    socket.getOutputStream().write(1);
                } catch (Exception e) {
                    serverError.set(e);
                }
            });
            try (SSLSocket socket = (SSLSocket) client.getSocketFactory()
                    .createSocket(InetAddress.getLoopbackAddress(), listening.getLocalPort())) {
                socket.startHandshake();
                assertThat(socket.getInputStream().read()).isEqualTo(1);
                accepted.get(10, TimeUnit.SECONDS);
                assertThat(serverError.get()).isNull();
                return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
            }
        }
    }

    private static void write(Path file, Object pemObject) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(pemObject);
        }
        Files.writeString(file, out.toString(), StandardCharsets.US_ASCII);
    }
}
