package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.migration.transport.CertificateAuthority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code ferry serve} with data-plane certificates in its environment, which its local workers
 * inherit: a migration between them runs over mutual TLS, arrives byte-exact, and the job's view
 * in {@code GET /migrations/{id}} says so.
 */
class DataPlaneTlsEndToEndTest {

    private static final String TOKEN = "tls-test-token";

    private Process serve;
    private final Path dataDir = ApiTestSupport.newDataDir("data-plane-tls");

    @AfterEach
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    @Test
    void aMigrationBetweenWorkersWithCertificatesRunsOverTlsAndTheJobSaysSo() throws Exception {
        Path certs = dataDir.resolve("certs");
        CertificateAuthority.create("e2e-ca", Duration.ofDays(1)).issue("ferry-worker", Duration.ofDays(1))
                .writePem(certs);
        int port = FerryProcess.freePort();
        serve = FerryProcess.serve(dataDir, port, Map.of(
                        "FERRY_DATA_TLS_CERT", certs.resolve("tls.crt").toString(),
                        "FERRY_DATA_TLS_KEY", certs.resolve("tls.key").toString(),
                        "FERRY_DATA_TLS_CA", certs.resolve("ca.crt").toString()),
                "--ferry.api.token=" + TOKEN, "--ferry.workers.local.memory-capacity=" + (1L << 30));
        ApiClient api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(api.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable"));

        String guestId = api.post("/api/v1/guests", Map.of("name", "secret-keeper", "hostId", "host-a",
                "memoryBytes", 32L << 20, "workload", Map.of("dirtyPagesPerSecond", 2000, "seed", 11)))
                .json().get("id").asString();
        String jobId = api.post("/api/v1/migrations", Map.of("guestId", guestId, "destinationHostId", "host-b",
                "parameters", Map.of("verifyChecksums", true))).json().get("id").asString();
        JsonNode job = await().atMost(Duration.ofSeconds(60)).until(
                () -> api.get("/api/v1/migrations/" + jobId).json(),
                j -> j.get("status").asString().equals("completed") || j.get("status").asString().equals("failed"));

        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("completed");
        JsonNode dataPlane = job.get("progress").get("dataPlane");
        assertThat(dataPlane.get("tls").asBoolean()).isTrue();
        assertThat(dataPlane.get("protocol").asString()).isEqualTo("TLSv1.3");
        assertThat(dataPlane.get("cipher").asString()).startsWith("TLS_");
        // the destination's digests come in their own report, which may follow the completion
        JsonNode verification = await().atMost(Duration.ofSeconds(10)).until(() -> api.get("/api/v1/migrations/"
                + jobId).json().get("progress").get("verification"), v -> !v.get("destinationMemory").isNull());
        assertThat(verification.get("destinationMemory").asString())
                .isEqualTo(verification.get("sourceMemory").asString());
    }
}
