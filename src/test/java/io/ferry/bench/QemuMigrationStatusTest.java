package io.ferry.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** {@code query-migrate} replies as QEMU 7.2 sends them (taken from a real run), read into figures. */
class QemuMigrationStatusTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void aCompletedSourceGivesItsTimesBytesAndThroughput() {
        QemuMigrationStatus status = QemuMigrationStatus.of(JSON.readTree("""
                {"status": "completed", "setup-time": 312, "downtime": 7, "total-time": 402,
                 "ram": {"total": 67641344, "postcopy-requests": 0, "dirty-sync-count": 3, "multifd-bytes": 0,
                         "pages-per-second": 25743, "downtime-bytes": 349381, "page-size": 4096, "remaining": 0,
                         "mbps": 41.01795555555556, "transferred": 349381, "duplicate": 16465, "normal": 49}}
                """));

        assertThat(status.completed()).isTrue();
        assertThat(status.finished()).isTrue();
        assertThat(status.totalTimeMs()).isEqualTo(402);
        assertThat(status.setupTimeMs()).isEqualTo(312);
        assertThat(status.downtimeMs()).isEqualTo(7);
        assertThat(status.transferredBytes()).isEqualTo(349381);
        assertThat(status.mbps()).isEqualTo(41.01795555555556);
        assertThat(status.error()).isEmpty();
    }

    @Test
    void aDestinationSaysOnlyItsStatusAndTheMissingFiguresAreMinusOne() {
        QemuMigrationStatus status = QemuMigrationStatus.of(JSON.readTree("{\"status\": \"active\"}"));

        assertThat(status.finished()).isFalse();
        assertThat(status.totalTimeMs()).isEqualTo(-1);
        assertThat(status.downtimeMs()).isEqualTo(-1);
        assertThat(status.transferredBytes()).isEqualTo(-1);
        assertThat(status.mbps()).isEqualTo(-1);
    }

    @Test
    void aFailedMigrationIsFinishedWithQemusReason() {
        QemuMigrationStatus status = QemuMigrationStatus.of(JSON.readTree(
                "{\"status\": \"failed\", \"error-desc\": \"Unable to write to socket: Broken pipe\"}"));

        assertThat(status.finished()).isTrue();
        assertThat(status.completed()).isFalse();
        assertThat(status.error()).isEqualTo("Unable to write to socket: Broken pipe");
    }

    @Test
    void noMigrationYetIsNone() {
        QemuMigrationStatus status = QemuMigrationStatus.of(JSON.readTree("{}"));

        assertThat(status.status()).isEqualTo("none");
        assertThat(status.finished()).isFalse();
    }
}
