package io.ferry.it;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class H2ControlPlaneApiTest extends ControlPlaneApiTests {

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        String dataDir = newDataDir("h2-api").toString();
        registry.add("ferry.data-dir", () -> dataDir);
        TestDatabase.H2.register(registry, dataDir);
    }
}
