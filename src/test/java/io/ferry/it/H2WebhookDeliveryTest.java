package io.ferry.it;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

class H2WebhookDeliveryTest extends WebhookDeliveryTests {

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        String dataDir = newDataDir("h2-webhooks").toString();
        registry.add("ferry.data-dir", () -> dataDir);
        TestDatabase.H2.register(registry, dataDir);
    }
}
