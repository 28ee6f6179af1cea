package io.ferry.worker;

import io.ferry.channel.tls.TlsMaterial;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.KeyManagerFactoryWrapper;
import io.netty.handler.ssl.util.TrustManagerFactoryWrapper;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * TLS on the control channel, both ways: the worker's command port serves HTTPS with its
 * certificate and takes commands only from a client certificate that names the control plane
 * ({@code controlPlaneNames}, chained to the same CA); the worker's requests to the control
 * plane trust only a server certificate with such a name. A certificate of another worker from
 * the same CA is therefore neither obeyed nor reported to. A client without a certificate may
 * still read {@code GET /metrics}, as it may over plain HTTP.
 */
public record ControlChannelTls(TlsMaterial material, Set<String> controlPlaneNames) {

    static final String DEFAULT_CONTROL_PLANE_NAME = "ferry-control-plane";

    public ControlChannelTls {
        Objects.requireNonNull(material, "material");
        controlPlaneNames = Set.copyOf(controlPlaneNames);
        if (controlPlaneNames.isEmpty()) {
            throw new IllegalArgumentException("the control plane's certificate name is needed");
        }
    }

    /** The command port's TLS: asks for a client certificate, and the handler refuses commands without one. */
    SslContext serverContext() {
        try {
            return SslContextBuilder.forServer(new KeyManagerFactoryWrapper(material.keyManager()))
                    .trustManager(new TrustManagerFactoryWrapper(material.trustManager(controlPlaneNames)))
                    .clientAuth(ClientAuth.OPTIONAL)
                    .sslProvider(SslProvider.JDK)
                    .protocols("TLSv1.3")
                    .build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot set up control-channel TLS: " + e.getMessage(), e);
        }
    }

    /** For requests to the control plane. */
    SSLContext clientContext() {
        return material.sslContext(controlPlaneNames);
    }

    @Override
    public String toString() {
        return "TLS 1.3, commands only from " + controlPlaneNames;
    }
}
