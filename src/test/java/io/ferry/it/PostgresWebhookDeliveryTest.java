package io.ferry.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

@EnabledIfEnvironmentVariable(named = TestDatabase.POSTGRES_URL_ENV, matches = ".+")
@DirtiesContext
class PostgresWebhookDeliveryTest extends WebhookDeliveryTests {

    private static String schema;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        String dataDir = newDataDir("pg-webhooks").toString();
        registry.add("ferry.data-dir", () -> dataDir);
        schema = TestDatabase.POSTGRES.register(registry, dataDir);
    }

    @AfterAll
    static void dropSchema() {
        TestDatabase.dropSchema(schema);
    }
}
