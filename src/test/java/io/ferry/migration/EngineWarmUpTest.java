package io.ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.migration.loopback.EngineWarmUp;
import io.ferry.migration.transport.CertificateAuthority;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneTls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's engine warm-up: a real migration of a throw-away guest (its checksums verified
 * by the engine), over the worker's own data-plane security, that leaves nothing behind; and a
 * warm-up that cannot run is reported, never thrown.
 */
class EngineWarmUpTest {

    private static final long MIB = 1L << 20;

    @Test
    void aPlainWarmUpCompletesAVerifiedMigrationAndLeavesNothingBehind(@TempDir Path parent) throws IOException {
        EngineWarmUp.Result result = EngineWarmUp.run(parent, 16 * MIB, DataPlaneSecurity.plain());

        assertThat(result.completed()).as(result.detail()).isTrue();
        assertThat(result.detail()).contains("completed");
        assertThat(result.millis()).isPositive();
        try (Stream<Path> left = Files.list(parent)) {
            assertThat(left).as("the warm-up's datastore is removed").isEmpty();
        }
    }

    @Test
    void aTlsWorkerWarmsUpItsTlsPathWithItsOwnCertificate(@TempDir Path parent) {
        CertificateAuthority ca = CertificateAuthority.create("warm-up-test-ca", Duration.ofDays(1));
        DataPlaneSecurity own = DataPlaneSecurity.tls(ca.issue("host-a", Duration.ofDays(1))
                .tls(DataPlaneTls.Provider.AUTO));

        EngineWarmUp.Result result = EngineWarmUp.run(parent, 16 * MIB, own);

        assertThat(result.completed()).as(result.detail()).isTrue();
    }

    @Test
    void aWarmUpThatCannotRunIsReportedNotThrown(@TempDir Path parent) throws IOException {
        Path notADirectory = Files.writeString(parent.resolve("file"), "in the way");

        EngineWarmUp.Result result = EngineWarmUp.run(notADirectory, 16 * MIB, DataPlaneSecurity.plain());

        assertThat(result.completed()).isFalse();
        assertThat(result.detail()).contains(notADirectory.toString());
    }
}
