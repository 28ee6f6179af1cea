package io.ferry.migration.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority for data-plane TLS: makes a CA and issues worker certificates
 * (ECDSA P-256, good for both TLS client and server), in memory or as PEM files named as
 * cert-manager names them ({@code tls.crt}, {@code tls.key}, {@code ca.crt}). For tests, the
 * benchmark and {@code ferry data-plane-certs}; a cluster's certificates come from its own CA
 * (cert-manager, or later the control plane's).
 *
 * <p>BouncyCastle builds the certificates only; keys and signatures are the JDK's.
 */
public final class CertificateAuthority {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final KeyPair keys;
    private final X509Certificate certificate;

    private CertificateAuthority(KeyPair keys, X509Certificate certificate) {
        this.keys = keys;
        this.certificate = certificate;
    }

    /** A new self-signed CA, valid from an hour ago (clock skew) for {@code validity}. */
    public static CertificateAuthority create(String name, Duration validity) {
        KeyPair keys = newKeyPair();
        X500Name subject = new X500Name("CN=" + name);
        try {
            X509v3CertificateBuilder builder = builder(subject, subject, keys, validity);
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            return new CertificateAuthority(keys, sign(builder, keys.getPrivate()));
        } catch (CertIOException e) {
            throw new IllegalStateException("cannot build a CA certificate", e);
        }
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * A worker certificate for {@code name}: its subject CN and a DNS name, plus {@code localhost}
     * and 127.0.0.1 for loopback set-ups, and any {@code extraNames} (DNS names or IP addresses).
     */
    public Issued issue(String name, Duration validity, String... extraNames) {
        KeyPair worker = newKeyPair();
        try {
            X509v3CertificateBuilder builder = builder(X500Name.getInstance(certificate.getSubjectX500Principal()
                    .getEncoded()), new X500Name("CN=" + name), worker, validity);
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
                    KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            List<GeneralName> names = new ArrayList<>();
            names.add(new GeneralName(GeneralName.dNSName, name));
            names.add(new GeneralName(GeneralName.dNSName, "localhost"));
            names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
            for (String extra : extraNames) {
                names.add(new GeneralName(isIpAddress(extra) ? GeneralName.iPAddress : GeneralName.dNSName, extra));
            }
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(names.toArray(GeneralName[]::new)));
            return new Issued(worker.getPrivate(), sign(builder, keys.getPrivate()), certificate);
        } catch (CertIOException e) {
            throw new IllegalStateException("cannot build a worker certificate", e);
        }
    }

    private static boolean isIpAddress(String name) {
        return name.matches("[0-9.]+") || name.contains(":");
    }

    /** A worker's key, its certificate and the CA's certificate. */
    public record Issued(PrivateKey key, X509Certificate certificate, X509Certificate ca) {

        /** TLS with this material, in memory. */
        public DataPlaneTls tls(DataPlaneTls.Provider provider) {
            return DataPlaneTls.of(key, new X509Certificate[] {certificate}, new X509Certificate[] {ca}, provider);
        }

        /** TLS with this material through JSSE key and trust managers, as a key store would hand it over. */
        public DataPlaneTls tlsThroughManagers(DataPlaneTls.Provider provider) {
            try {
                char[] password = new char[0];
                KeyStore keyStore = KeyStore.getInstance("PKCS12");
                keyStore.load(null, null);
                keyStore.setKeyEntry("worker", key, password, new X509Certificate[] {certificate});
                KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(keyStore, password);
                KeyStore trustStore = KeyStore.getInstance("PKCS12");
                trustStore.load(null, null);
                trustStore.setCertificateEntry("ca", ca);
                TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trust.init(trustStore);
                return DataPlaneTls.of(keys, trust, provider);
            } catch (GeneralSecurityException | IOException e) {
                throw new IllegalStateException("cannot load the issued certificate", e);
            }
        }

        /** Writes {@code tls.crt}, {@code tls.key} (PKCS#8, owner-only) and {@code ca.crt} into {@code directory}. */
        public void writePem(Path directory) {
            try {
                Files.createDirectories(directory);
                writeCertificate(directory.resolve("tls.crt"), certificate);
                writeCertificate(directory.resolve("ca.crt"), ca);
                Path keyFile = directory.resolve("tls.key");
                Files.deleteIfExists(keyFile);
                try {
                    Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
                } catch (UnsupportedOperationException notPosix) {
                    Files.createFile(keyFile);
                }
                Files.writeString(keyFile, pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII,
                        StandardOpenOption.TRUNCATE_EXISTING);
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalStateException("cannot write certificates to " + directory, e);
            }
        }
    }

    /** Writes the CA's certificate (not its key) as PEM. */
    public void writeCertificate(Path file) {
        try {
            writeCertificate(file, certificate);
        } catch (IOException | GeneralSecurityException e) {
            throw new UncheckedIOException(new IOException("cannot write " + file, e));
        }
    }

    private static void writeCertificate(Path file, X509Certificate certificate)
            throws IOException, GeneralSecurityException {
        Files.writeString(file, pem("CERTIFICATE", certificate.getEncoded()), StandardCharsets.US_ASCII);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no EC P-256 key generator", e);
        }
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys,
                                                    Duration validity) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM).add(BigInteger.ONE),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), subject, keys.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
        } catch (OperatorCreationException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a certificate", e);
        }
    }
}
