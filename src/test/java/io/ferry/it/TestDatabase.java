package io.ferry.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * The databases the suite runs against: H2 always; PostgreSQL when FERRY_TEST_POSTGRES_URL is
 * set (CI sets it). Each PostgreSQL test context gets a schema of its own, dropped afterwards.
 */
public enum TestDatabase {
    H2,
    POSTGRES;

    public static final String POSTGRES_URL_ENV = "FERRY_TEST_POSTGRES_URL";

    /** Points the context at this database; for H2, a file database inside {@code dataDir}. */
    public String register(DynamicPropertyRegistry registry, String dataDir) {
        if (this == H2) {
            registry.add("spring.datasource.url", () -> "jdbc:h2:file:" + dataDir + "/ferry;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0");
            return null;
        }
        String url = System.getenv(POSTGRES_URL_ENV);
        String schema = "ferry_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        registry.add("spring.datasource.url", () -> url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema);
        registry.add("spring.datasource.username", () -> System.getenv().getOrDefault("FERRY_TEST_POSTGRES_USER", "postgres"));
        registry.add("spring.datasource.password", () -> System.getenv().getOrDefault("FERRY_TEST_POSTGRES_PASSWORD", ""));
        registry.add("spring.flyway.schemas", () -> schema);
        registry.add("spring.flyway.default-schema", () -> schema);
        return schema;
    }

    /** Removes a per-context PostgreSQL schema. */
    public static void dropSchema(String schema) {
        if (schema == null) {
            return;
        }
        String url = System.getenv(POSTGRES_URL_ENV);
        try (Connection c = DriverManager.getConnection(url,
                System.getenv().getOrDefault("FERRY_TEST_POSTGRES_USER", "postgres"),
                System.getenv().getOrDefault("FERRY_TEST_POSTGRES_PASSWORD", ""));
             Statement s = c.createStatement()) {
            s.execute("drop schema if exists " + schema + " cascade");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot drop test schema " + schema, e);
        }
    }
}
