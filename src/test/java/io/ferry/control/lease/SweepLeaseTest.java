package io.ferry.control.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.time.Instant;
import io.ferry.testing.MovableClock;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

/**
 * The sweeps run on one replica at a time, on H2 and on PostgreSQL (when
 * {@code FERRY_TEST_POSTGRES_URL} is set): the lease's compare-and-set lets one replica in, keeps
 * another out until the holder's expiry, hands it over after that, and the old holder learns it
 * at its next renewal; a replica believes it holds the lease only for three quarters of the ttl
 * (a stalled holder stops before anyone else may start); a restarted replica takes its earlier
 * life's lease back at once.
 */
class SweepLeaseTest {

    private static final Duration TTL = Duration.ofSeconds(10);

    /** One clock for all replicas here: the lease's expiry is judged against the clock of whoever asks. */
    private final MovableClock clock = new MovableClock(Instant.parse("2026-12-07T08:00:00Z"));
    private SingleConnectionDataSource dataSource;
    private String schema;

    @AfterEach
    void drop() {
        if (schema != null) {
            new JdbcTemplate(dataSource).execute("drop schema " + schema + " cascade");
        }
        if (dataSource != null) {
            dataSource.destroy();
        }
    }

    private JdbcTemplate database(String kind) {
        if (kind.equals("h2")) {
            dataSource = new SingleConnectionDataSource("jdbc:h2:mem:sweeps-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
                    "sa", "", true);
            Flyway.configure().dataSource(dataSource).load().migrate();
        } else {
            String url = System.getenv("FERRY_TEST_POSTGRES_URL");
            assumeTrue(url != null && !url.isBlank(), "FERRY_TEST_POSTGRES_URL is not set");
            dataSource = new SingleConnectionDataSource(url,
                    System.getenv().getOrDefault("FERRY_TEST_POSTGRES_USER", "postgres"),
                    System.getenv().getOrDefault("FERRY_TEST_POSTGRES_PASSWORD", ""), true);
            schema = "sweeps_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
            new JdbcTemplate(dataSource).execute("create schema " + schema);
            Flyway.configure().dataSource(dataSource).schemas(schema).defaultSchema(schema).load().migrate();
            new JdbcTemplate(dataSource).execute("set search_path to " + schema);
        }
        return new JdbcTemplate(dataSource);
    }

    private SweepLease replica(JdbcTemplate jdbc, ReplicaIdentity identity) {
        return new SweepLease(jdbc, identity, clock, TTL);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void oneReplicaAtATimeAndAHandOverOnlyAfterTheHoldersExpiry(String kind) {
        JdbcTemplate jdbc = database(kind);
        SweepLease a = replica(jdbc, new ReplicaIdentity("replica-a", 0));
        SweepLease b = replica(jdbc, new ReplicaIdentity("replica-b", 0));

        assertThat(a.renew()).isTrue();
        assertThat(b.renew()).as("the holder's lease is live").isFalse();
        assertThat(a.held()).isTrue();
        assertThat(b.held()).isFalse();
        long epoch = epoch(jdbc);

        clock.advance(Duration.ofSeconds(5));
        assertThat(a.renew()).as("the holder renews").isTrue();
        assertThat(epoch(jdbc)).as("a renewal keeps the epoch").isEqualTo(epoch);

        // the holder stalls: it stops believing it holds the lease before its expiry lets anyone in
        clock.advance(TTL.multipliedBy(3).dividedBy(4).plusMillis(1));
        assertThat(a.held()).isFalse();
        assertThat(b.renew()).as("not before the expiry written").isFalse();
        clock.advance(TTL.dividedBy(4));
        assertThat(b.renew()).as("after the expiry").isTrue();
        assertThat(epoch(jdbc)).as("a takeover raises the epoch").isEqualTo(epoch + 1);

        // the stalled holder wakes: it does not get the lease back, and knows it
        assertThat(a.renew()).isFalse();
        assertThat(a.held()).isFalse();
        assertThat(b.held()).isTrue();
        assertThat(jdbc.queryForObject("select owner from control_leases where name = 'sweeps'", String.class))
                .startsWith("replica-b/");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void aRestartedReplicaTakesItsEarlierLifesLeaseBackAtOnce(String kind) {
        JdbcTemplate jdbc = database(kind);
        assertThat(replica(jdbc, new ReplicaIdentity("replica_a", 0)).renew()).isTrue();   // then killed -9
        SweepLease other = replica(jdbc, new ReplicaIdentity("replicaXa", 0));
        assertThat(other.renew()).as("a name matching only as a LIKE pattern is another replica").isFalse();

        SweepLease again = replica(jdbc, new ReplicaIdentity("replica_a", 0));
        assertThat(again.renew()).as("its own earlier life, long before the expiry").isTrue();
        assertThat(other.renew()).isFalse();
    }

    private static long epoch(JdbcTemplate jdbc) {
        return jdbc.queryForObject("select epoch from control_leases where name = 'sweeps'", Long.class);
    }
}
