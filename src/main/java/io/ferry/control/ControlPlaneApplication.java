package io.ferry.control;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.ConfigurableApplicationContext;

/** The control plane's Spring context: everything under io.ferry.control, nothing else. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class ControlPlaneApplication {

    public static ConfigurableApplicationContext run(String... args) {
        return SpringApplication.run(ControlPlaneApplication.class, args);
    }
}
