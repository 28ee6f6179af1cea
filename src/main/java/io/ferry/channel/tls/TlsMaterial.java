package io.ferry.channel.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A certificate chain, its private key and the CA that peers must chain to, read from PEM files
 * (named as cert-manager writes them: {@code tls.crt}, {@code tls.key}, {@code ca.crt}) and read
 * again when they change, so a rotated certificate is used by the next handshake without a
 * restart. Files are looked at no more often than {@code recheck}; a rotation caught half-written
 * (or a bad file) keeps the material in use and is logged, and the next look tries again.
 *
 * <p>Peers are trusted by chain and by <em>name</em>, not by host name: a worker is reached at a
 * pod address no certificate can list in advance, and what matters is which role the peer plays.
 * A {@link #trustManager(Set) trust manager} accepts a chain to the CA whose leaf names (subject
 * CN or DNS subject-alternative names) include one of the expected names, e.g. the control
 * plane's, so a worker's certificate from the same CA cannot command other workers.
 */
public final class TlsMaterial {

    private static final Logger log = LoggerFactory.getLogger(TlsMaterial.class);

    private final Path certificateFile;
    private final Path keyFile;
    private final Path caFile;
    private final Duration recheck;
    private final Clock clock;
    private final AtomicLong generations = new AtomicLong();
    private volatile Snapshot current;
    /** The one before {@link #current}: a handshake that chose its alias just before a reload still finds it. */
    private volatile Snapshot previous;
    private volatile Instant lastLook;

    private TlsMaterial(Path certificateFile, Path keyFile, Path caFile, Duration recheck, Clock clock) {
        this.certificateFile = certificateFile;
        this.keyFile = keyFile;
        this.caFile = caFile;
        this.recheck = recheck;
        this.clock = clock;
        this.current = load();
        this.lastLook = clock.instant();
    }

    /**
     * Reads the three files now (and again, when they change, at most every {@code recheck}).
     *
     * @throws IllegalArgumentException naming the file, for a missing, unreadable or malformed one
     */
    public static TlsMaterial fromPem(Path certificate, Path key, Path ca, Duration recheck) {
        return fromPem(certificate, key, ca, recheck, Clock.systemUTC());
    }

    static TlsMaterial fromPem(Path certificate, Path key, Path ca, Duration recheck, Clock clock) {
        return new TlsMaterial(certificate, key, ca, recheck, clock);
    }

    /** The leaf certificate in use now. */
    public X509Certificate certificate() {
        return fresh().chain[0];
    }

    /** Presents the current certificate; for TLS servers and clients alike. */
    public X509ExtendedKeyManager keyManager() {
        return new KeyManager();
    }

    /**
     * Trusts a peer whose chain leads to the current CA and whose leaf names one of
     * {@code expectedNames} (empty: any name).
     */
    public X509ExtendedTrustManager trustManager(Set<String> expectedNames) {
        return new TrustManager(Set.copyOf(expectedNames));
    }

    /** A JDK TLS context presenting this material and trusting peers named {@code expectedNames}. */
    public SSLContext sslContext(Set<String> expectedNames) {
        try {
            SSLContext context = SSLContext.getInstance("TLSv1.3");
            context.init(new javax.net.ssl.KeyManager[] {keyManager()},
                    new javax.net.ssl.TrustManager[] {trustManager(expectedNames)}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no TLS 1.3 in this JDK", e);
        }
    }

    /** The names a certificate answers to: its subject CN and its DNS subject-alternative names. */
    public static List<String> names(X509Certificate certificate) {
        Set<String> names = new java.util.LinkedHashSet<>();
        String subject = certificate.getSubjectX500Principal().getName();
        for (String part : subject.split(",")) {
            String trimmed = part.trim();
            if (trimmed.regionMatches(true, 0, "CN=", 0, 3)) {
                names.add(trimmed.substring(3));
            }
        }
        try {
            Collection<List<?>> alternatives = certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (Integer.valueOf(2).equals(entry.get(0))) {   // dNSName
                        names.add(String.valueOf(entry.get(1)));
                    }
                }
            }
        } catch (CertificateException unreadable) {
            // no usable alternative names: the CN is all it answers to
        }
        return List.copyOf(names);
    }

    private Snapshot fresh() {
        Instant now = clock.instant();
        if (Duration.between(lastLook, now).compareTo(recheck) >= 0) {
            synchronized (this) {
                if (Duration.between(lastLook, now).compareTo(recheck) >= 0) {
                    lastLook = now;
                    reloadIfChanged();
                }
            }
        }
        return current;
    }

    private void reloadIfChanged() {
        Snapshot held = current;
        try {
            if (Arrays.equals(Files.readAllBytes(certificateFile), held.certificateBytes)
                    && Arrays.equals(Files.readAllBytes(keyFile), held.keyBytes)
                    && Arrays.equals(Files.readAllBytes(caFile), held.caBytes)) {
                return;
            }
            Snapshot next = load();
            previous = held;
            current = next;
            log.info("TLS certificate {} reloaded: {} (serial {}, valid until {}), CA {}", certificateFile,
                    next.chain[0].getSubjectX500Principal().getName(), next.chain[0].getSerialNumber().toString(16),
                    next.chain[0].getNotAfter().toInstant(), next.ca.get(0).getSubjectX500Principal().getName());
        } catch (IOException | IllegalArgumentException e) {
            log.warn("TLS certificate {} changed but cannot be loaded ({}); the one in use stays", certificateFile,
                    e.getMessage());
        }
    }

    private Snapshot load() {
        byte[] certificateBytes = read(certificateFile, "certificate");
        byte[] keyBytes = read(keyFile, "private key");
        byte[] caBytes = read(caFile, "CA certificate");
        List<X509Certificate> chain = certificates(certificateBytes, certificateFile);
        List<X509Certificate> ca = certificates(caBytes, caFile);
        PrivateKey key = privateKey(keyBytes, keyFile);
        if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
            throw new IllegalArgumentException("private key " + keyFile + " (" + key.getAlgorithm()
                    + ") does not belong to certificate " + certificateFile + " ("
                    + chain.get(0).getPublicKey().getAlgorithm() + ")");
        }
        X509TrustManager pkix = pkix(ca);
        return new Snapshot("g" + generations.incrementAndGet(), chain.toArray(X509Certificate[]::new), key, ca,
                pkix, certificateBytes, keyBytes, caBytes);
    }

    private static byte[] read(Path file, String what) {
        if (file == null) {
            throw new IllegalArgumentException("TLS " + what + " file is not set");
        }
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("TLS " + what + " file " + file + " is missing or unreadable: "
                    + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> certificates(byte[] pem, Path file) {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem))) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IllegalArgumentException("no certificate in " + file);
            }
            return out;
        } catch (CertificateException e) {
            throw new IllegalArgumentException("cannot read certificates from " + file + ": " + e.getMessage(), e);
        }
    }

    /** PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}). */
    private static PrivateKey privateKey(byte[] pem, Path file) {
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
                if (object instanceof PrivateKeyInfo) {
                    return converter.getPrivateKey((PrivateKeyInfo) object);
                }
                if (object instanceof PEMKeyPair) {
                    return converter.getKeyPair((PEMKeyPair) object).getPrivate();
                }
            }
            throw new IllegalArgumentException("no unencrypted private key in " + file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the private key in " + file + ": " + e.getMessage(), e);
        }
    }

    private static X509TrustManager pkix(List<X509Certificate> ca) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < ca.size(); i++) {
                store.setCertificateEntry("ca" + i, ca.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(store);
            for (javax.net.ssl.TrustManager manager : factory.getTrustManagers()) {
                if (manager instanceof X509TrustManager) {
                    return (X509TrustManager) manager;
                }
            }
            throw new IllegalStateException("the JDK's PKIX trust manager is missing");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot trust the CA certificates: " + e.getMessage(), e);
        }
    }

    private record Snapshot(String alias, X509Certificate[] chain, PrivateKey key, List<X509Certificate> ca,
                            X509TrustManager pkix, byte[] certificateBytes, byte[] keyBytes, byte[] caBytes) {
    }

    private Snapshot byAlias(String alias) {
        Snapshot now = current;
        if (now.alias.equals(alias)) {
            return now;
        }
        Snapshot before = previous;
        return before != null && before.alias.equals(alias) ? before : null;
    }

    private final class KeyManager extends X509ExtendedKeyManager {

        private String alias(String[] keyTypes) {
            Snapshot now = fresh();
            if (keyTypes == null) {
                return now.alias;
            }
            for (String type : keyTypes) {
                if (matches(now, type)) {
                    return now.alias;
                }
            }
            return null;
        }

        private boolean matches(Snapshot snapshot, String keyType) {
            return keyType != null && (keyType.equalsIgnoreCase(snapshot.key.getAlgorithm())
                    || keyType.startsWith(snapshot.key.getAlgorithm() + "_"));
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
            return alias(keyTypes);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
            return alias(keyTypes);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return alias(new String[] {keyType});
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return alias(new String[] {keyType});
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            String alias = alias(new String[] {keyType});
            return alias == null ? null : new String[] {alias};
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return getClientAliases(keyType, issuers);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            Snapshot snapshot = byAlias(alias);
            return snapshot == null ? null : snapshot.chain.clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            Snapshot snapshot = byAlias(alias);
            return snapshot == null ? null : snapshot.key;
        }
    }

    private final class TrustManager extends X509ExtendedTrustManager {

        private final Set<String> expectedNames;

        TrustManager(Set<String> expectedNames) {
            this.expectedNames = expectedNames;
        }

        private void check(X509Certificate[] chain, String authType, boolean client) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("the peer presented no certificate");
            }
            X509TrustManager pkix = fresh().pkix;
            if (client) {
                pkix.checkClientTrusted(chain, authType);
            } else {
                pkix.checkServerTrusted(chain, authType);
            }
            if (expectedNames.isEmpty()) {
                return;
            }
            List<String> names = names(chain[0]);
            for (String name : names) {
                if (expectedNames.contains(name)) {
                    return;
                }
            }
            throw new CertificateException("the peer's certificate names " + names + ", not "
                    + (expectedNames.size() == 1 ? expectedNames.iterator().next() : "one of " + expectedNames));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain, authType, true);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain, authType, false);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain, authType, true);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain, authType, false);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, authType, true);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, authType, false);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return fresh().ca.toArray(X509Certificate[]::new);
        }
    }
}
