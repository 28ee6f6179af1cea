package io.ferry.control.job;

import io.ferry.it.TestDatabase;
import java.nio.file.Files;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class H2PersistenceContractTest extends PersistenceContractTests {

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        String dataDir = Files.createTempDirectory("ferry-h2-contract-").toString();
        registry.add("ferry.data-dir", () -> dataDir);
        TestDatabase.H2.register(registry, dataDir);
    }
}
