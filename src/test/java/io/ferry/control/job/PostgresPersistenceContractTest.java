package io.ferry.control.job;

import io.ferry.it.TestDatabase;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

@EnabledIfEnvironmentVariable(named = TestDatabase.POSTGRES_URL_ENV, matches = ".+")
@DirtiesContext
class PostgresPersistenceContractTest extends PersistenceContractTests {

    private static String schema;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        String dataDir = Files.createTempDirectory("ferry-pg-contract-").toString();
        registry.add("ferry.data-dir", () -> dataDir);
        schema = TestDatabase.POSTGRES.register(registry, dataDir);
    }

    @AfterAll
    static void dropSchema() {
        TestDatabase.dropSchema(schema);
    }
}
