package io.ferry.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;

/**
 * A schema of its own in the PostgreSQL of {@code FERRY_TEST_POSTGRES_URL} (user and password from
 * {@code _USER}, {@code _PASSWORD}): created at once, dropped with everything in it on
 * {@link #close()} unless kept. {@link #serveOptions()} points a {@code ferry serve} at it.
 */
final class PostgresSchema implements AutoCloseable {

    static final String URL_ENV = "FERRY_TEST_POSTGRES_URL";

    private final String url;
    private final String user;
    private final String password;
    private final String name;
    private final boolean keep;
    private final Connection db;

    private PostgresSchema(String url, boolean keep) throws SQLException {
        this.url = url;
        this.user = System.getenv().getOrDefault("FERRY_TEST_POSTGRES_USER", "postgres");
        this.password = System.getenv().getOrDefault("FERRY_TEST_POSTGRES_PASSWORD", "");
        this.name = "ferry_bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        this.keep = keep;
        this.db = DriverManager.getConnection(url, user, password);
        db.setAutoCommit(true);
        try (Statement s = db.createStatement()) {
            s.execute("create schema " + name);
        }
    }

    /** A new schema, or null when {@value #URL_ENV} is not set. */
    static PostgresSchema create(boolean keep) throws SQLException {
        String url = System.getenv(URL_ENV);
        return url == null || url.isBlank() ? null : new PostgresSchema(url, keep);
    }

    String name() {
        return name;
    }

    /** A connection of the benchmark's own (auto-commit), to this schema once Flyway has created its tables. */
    Connection connection() throws SQLException {
        db.setSchema(name);
        return db;
    }

    /** The options that give {@code ferry serve} this schema as its database. */
    List<String> serveOptions() {
        return List.of("--spring.profiles.active=postgres",
                "--spring.datasource.url=" + url + (url.contains("?") ? "&" : "?") + "currentSchema=" + name,
                "--spring.datasource.username=" + user, "--spring.datasource.password=" + password,
                "--spring.flyway.schemas=" + name, "--spring.flyway.default-schema=" + name);
    }

    @Override
    public void close() throws SQLException {
        try (db) {
            if (keep) {
                System.out.printf("kept schema %s%n", name);
            } else {
                try (Statement s = db.createStatement()) {
                    s.execute("drop schema " + name + " cascade");
                }
            }
        }
    }
}
