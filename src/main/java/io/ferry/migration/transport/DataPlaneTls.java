package io.ferry.migration.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Locale;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS 1.3 with mutual authentication for data-plane connections: this worker's key and
 * certificate, and the certificate authority both peers' certificates must chain to. The same
 * material serves both roles (a worker is a destination for some jobs and a source for others).
 *
 * <p>Key material comes as PEM files ({@link #fromPem}) or as JSSE key and trust managers
 * ({@link #of}), so certificates can come from a mounted secret today and from the control
 * plane's CA later without touching the transport. There is no host-name check: the workers of a
 * cluster may share one certificate (a Kubernetes secret), and the job itself is bound by Ferry's
 * handshake inside TLS, so the CA says "a worker of this cluster" and the job secret says "the
 * source of this job".
 */
public final class DataPlaneTls {

    /** Which TLS implementation; {@link #AUTO} takes OpenSSL (BoringSSL) when its native library loads. */
    public enum Provider {
        AUTO, OPENSSL, JDK;

        public static Provider parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("data-plane TLS provider must be auto, openssl or jdk, not '"
                        + text + "'");
            }
        }
    }

    private static final String TLS_13 = "TLSv1.3";

    private final SslContext server;
    private final SslContext client;
    private final SslProvider provider;

    private DataPlaneTls(SslContext server, SslContext client, SslProvider provider) {
        this.server = server;
        this.client = client;
        this.provider = provider;
    }

    /**
     * From PEM files: {@code certificateChain} (this worker's certificate, then intermediates),
     * {@code privateKey} (PKCS#8; PKCS#1 and SEC1 keys need BouncyCastle, which Ferry ships) and
     * {@code trustedCa} (one or more CA certificates).
     *
     * @throws IllegalArgumentException for a missing or unreadable file, or a provider that cannot run here
     */
    public static DataPlaneTls fromPem(Path certificateChain, Path privateKey, Path trustedCa, Provider provider) {
        for (Path file : new Path[] {certificateChain, privateKey, trustedCa}) {
            if (file == null || !Files.isReadable(file)) {
                throw new IllegalArgumentException("data-plane TLS file " + file + " is missing or unreadable");
            }
        }
        SslProvider chosen = choose(provider);
        try {
            return build(SslContextBuilder.forServer(certificateChain.toFile(), privateKey.toFile()),
                    SslContextBuilder.forClient().keyManager(certificateChain.toFile(), privateKey.toFile()),
                    trustedCa, null, chosen);
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("cannot load data-plane TLS material (" + certificateChain + ", "
                    + privateKey + ", " + trustedCa + "): " + rootMessage(e), e);
        }
    }

    /** From JSSE managers: the worker's key and certificate, and the trust in its peers. */
    public static DataPlaneTls of(KeyManagerFactory keys, TrustManagerFactory trust, Provider provider) {
        SslProvider chosen = choose(provider);
        try {
            return build(SslContextBuilder.forServer(keys), SslContextBuilder.forClient().keyManager(keys), null, trust,
                    chosen);
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot set up data-plane TLS: " + rootMessage(e), e);
        }
    }

    /** From a key and its certificate chain, trusting peers whose certificates chain to {@code trusted}. */
    public static DataPlaneTls of(PrivateKey key, X509Certificate[] chain, X509Certificate[] trusted,
                                  Provider provider) {
        SslProvider chosen = choose(provider);
        try {
            return build(SslContextBuilder.forServer(key, chain), SslContextBuilder.forClient().keyManager(key, chain),
                    null, null, trusted, chosen);
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot set up data-plane TLS: " + rootMessage(e), e);
        }
    }

    private static DataPlaneTls build(SslContextBuilder server, SslContextBuilder client, Path caFile,
                                      TrustManagerFactory trust, SslProvider provider) throws SSLException {
        return build(server, client, caFile, trust, null, provider);
    }

    private static DataPlaneTls build(SslContextBuilder server, SslContextBuilder client, Path caFile,
                                      TrustManagerFactory trust, X509Certificate[] trusted, SslProvider provider)
            throws SSLException {
        for (SslContextBuilder builder : new SslContextBuilder[] {server, client}) {
            builder.sslProvider(provider).protocols(TLS_13);
            if (caFile != null) {
                builder.trustManager(caFile.toFile());
            } else if (trust != null) {
                builder.trustManager(trust);
            } else {
                builder.trustManager(trusted);
            }
        }
        server.clientAuth(ClientAuth.REQUIRE);
        return new DataPlaneTls(server.build(), client.build(), provider);
    }

    private static SslProvider choose(Provider provider) {
        switch (provider) {
            case JDK:
                return SslProvider.JDK;
            case OPENSSL:
                if (!OpenSsl.isAvailable()) {
                    throw new IllegalArgumentException("the OpenSSL (BoringSSL) TLS provider is unavailable here: "
                            + rootMessage(OpenSsl.unavailabilityCause()));
                }
                if (!SslProvider.isTlsv13Supported(SslProvider.OPENSSL)) {
                    throw new IllegalArgumentException("the OpenSSL TLS provider here has no TLS 1.3");
                }
                return SslProvider.OPENSSL;
            default:
                return OpenSsl.isAvailable() && SslProvider.isTlsv13Supported(SslProvider.OPENSSL)
                        ? SslProvider.OPENSSL : SslProvider.JDK;
        }
    }

    /** "openssl" or "jdk": the implementation in use. */
    public String providerName() {
        return provider == SslProvider.JDK ? "jdk" : "openssl";
    }

    SslHandler newServerHandler(ByteBufAllocator alloc, long handshakeTimeoutMs) {
        SslHandler handler = server.newHandler(alloc);
        handler.setHandshakeTimeoutMillis(handshakeTimeoutMs);
        return handler;
    }

    SslHandler newClientHandler(ByteBufAllocator alloc, String host, int port, long handshakeTimeoutMs) {
        SslHandler handler = client.newHandler(alloc, host, port);
        handler.setHandshakeTimeoutMillis(handshakeTimeoutMs);
        return handler;
    }

    static String rootMessage(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }

    @Override
    public String toString() {
        return "TLS 1.3, mutual, " + providerName();
    }

    /** For diagnostics: whether the OpenSSL provider can run in this process. */
    public static boolean openSslAvailable() {
        return OpenSsl.isAvailable();
    }
}
