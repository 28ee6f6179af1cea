package io.ferry.it;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class H2MigrationEndToEndTest extends MigrationEndToEndTests {

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        dataDir = newDataDir("h2-migration");
        registry.add("ferry.data-dir", dataDir::toString);
        TestDatabase.H2.register(registry, dataDir.toString());
    }
}
