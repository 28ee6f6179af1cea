package io.ferry.control.system;

import java.net.InetAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.server.ConfigurableWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Where the control plane listens. {@code server.address} wins when set; otherwise the
 * embedded set-up ({@code ferry.workers.launch=local}, whose workers run on this machine and
 * reach it on 127.0.0.1) listens on loopback only, as its workers do, and a control plane
 * whose workers run elsewhere ({@code external}, the Helm chart) on every interface.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class BindAddress {

    private static final Logger log = LoggerFactory.getLogger(BindAddress.class);

    @Bean
    WebServerFactoryCustomizer<ConfigurableWebServerFactory> loopbackByDefault(Environment env) {
        return factory -> {
            InetAddress address = address(env.getProperty("server.address"),
                    env.getProperty("ferry.workers.launch", "local"));
            if (address != null) {
                factory.setAddress(address);
                log.info("control plane listens on {} (the embedded default; server.address changes it)",
                        address.getHostAddress());
            }
        };
    }

    /** The address to force, or null to leave the factory as configured (server.address set, or external workers). */
    static InetAddress address(String serverAddress, String launch) {
        if (serverAddress != null && !serverAddress.isBlank()) {
            return null;
        }
        return "local".equalsIgnoreCase(launch.strip()) ? InetAddress.getLoopbackAddress() : null;
    }
}
