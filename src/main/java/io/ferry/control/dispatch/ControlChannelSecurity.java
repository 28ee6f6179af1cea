package io.ferry.control.dispatch;

import io.ferry.channel.tls.TlsMaterial;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * How this control plane reaches workers: plain HTTP with the worker token (the embedded
 * loopback set-up), or HTTPS with mutual TLS ({@code ferry.control-channel.tls.*}), where the
 * control plane proves itself with its certificate and accepts only a worker certificate from the
 * CA that names a worker. Half a configuration is refused at start, never run as plain.
 */
@Component
public class ControlChannelSecurity {

    private static final Logger log = LoggerFactory.getLogger(ControlChannelSecurity.class);

    private final TlsMaterial material;
    private final Set<String> workerNames;
    private final boolean serverTls;

    ControlChannelSecurity(@Value("${ferry.control-channel.tls.certificate:}") String certificate,
                           @Value("${ferry.control-channel.tls.private-key:}") String privateKey,
                           @Value("${ferry.control-channel.tls.ca:}") String ca,
                           @Value("${ferry.control-channel.tls.worker-names:ferry-worker}") List<String> workerNames,
                           @Value("${ferry.control-channel.tls.reload-interval:30s}") Duration reloadInterval,
                           Environment environment) {
        int given = (certificate.isBlank() ? 0 : 1) + (privateKey.isBlank() ? 0 : 1) + (ca.isBlank() ? 0 : 1);
        if (given != 0 && given != 3) {
            throw new IllegalStateException("control-channel TLS needs all of ferry.control-channel.tls.certificate, "
                    + "private-key and ca (or none of them)");
        }
        this.workerNames = new LinkedHashSet<>();
        for (String name : workerNames) {
            if (!name.isBlank()) {
                this.workerNames.add(name.strip());
            }
        }
        if (given == 3 && this.workerNames.isEmpty()) {
            throw new IllegalStateException("ferry.control-channel.tls.worker-names must name the workers' certificates");
        }
        this.material = given == 0 ? null
                : TlsMaterial.fromPem(Path.of(certificate), Path.of(privateKey), Path.of(ca), reloadInterval);
        this.serverTls = serverSsl(environment);
        if (material != null) {
            log.info("control channel: mutual TLS to workers named {}, as {}", this.workerNames,
                    material.certificate().getSubjectX500Principal().getName());
        }
    }

    /** Whether this process serves its own API over HTTPS (Spring's {@code server.ssl}). */
    private static boolean serverSsl(Environment environment) {
        if (!environment.getProperty("server.ssl.enabled", Boolean.class, true)) {
            return false;
        }
        return environment.containsProperty("server.ssl.bundle") || environment.containsProperty("server.ssl.certificate")
                || environment.containsProperty("server.ssl.key-store");
    }

    public boolean encrypted() {
        return material != null;
    }

    /** The scheme of a worker's control port. */
    String workerScheme() {
        return material == null ? "http" : "https";
    }

    /** The scheme this control plane's own API answers on, for the local workers it launches. */
    String ownScheme() {
        return serverTls ? "https" : "http";
    }

    /** An HTTP client for commands to workers: with this control plane's certificate when TLS is on. */
    HttpClient.Builder httpClient() {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
        if (material != null) {
            builder.sslContext(material.sslContext(workerNames));
        }
        return builder;
    }
}
