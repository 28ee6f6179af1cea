package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ferry.contract.OpenApiContract;
import io.ferry.control.ControlPlaneApplication;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;
import tools.jackson.databind.JsonNode;

/**
 * A real control plane for tests that talk to it as a client does: a real HTTP server, real
 * worker child processes launched by the embedded default, a real database. Every response is
 * validated against openapi.yaml by {@link ApiClient}. Subclasses choose the database.
 */
@SpringBootTest(classes = ControlPlaneApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
                "ferry.api.token=" + ApiTestSupport.API_TOKEN,
                "ferry.worker.token=test-worker-token",
                "ferry.worker.heartbeat-interval=200ms",
                "ferry.worker.heartbeat-timeout=2s",
                "ferry.events.heartbeat=1s",
                "ferry.workers.local.memory-capacity=" + ApiTestSupport.HOST_CAPACITY,
                "ferry.workers.local.java-options=-Xmx128m -Dio.netty.leakDetection.level=paranoid"
        })
@ExtendWith(OutputCaptureExtension.class)
abstract class ApiTestSupport {

    static final String API_TOKEN = "test-api-token";
    /** The OAuth2/OIDC issuer whose JWTs every test context accepts beside its tokens. */
    static final TestJwtIssuer JWT = TestJwtIssuer.shared();

    @DynamicPropertySource
    static void jwtIssuer(DynamicPropertyRegistry registry) {
        registry.add("ferry.auth.jwt.jwk-set-uri", JWT::jwkSetUri);
        registry.add("ferry.auth.jwt.issuer-uri", JWT::issuer);
        registry.add("ferry.auth.jwt.audience", () -> TestJwtIssuer.AUDIENCE);
    }
    static final long MIB = 1L << 20;
    static final long HOST_CAPACITY = 1024 * MIB;

    static Path newDataDir(String name) {
        try {
            return Files.createTempDirectory("ferry-" + name + "-");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    @Qualifier("requestMappingHandlerMapping")
    RequestMappingHandlerMapping mappings;

    ApiClient api;

    @BeforeEach
    void hostsUp() {
        api = new ApiClient("http://127.0.0.1:" + port, API_TOKEN);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            ApiClient.Reply hosts = api.get("/api/v1/hosts");
            List<String> states = new java.util.ArrayList<>();
            hosts.json().forEach(h -> states.add(h.get("state").asString()));
            assertThat(states).hasSize(hostCount()).containsOnly("reachable");
        });
    }

    /** How many local workers the context runs (ferry.workers.local.hosts). */
    int hostCount() {
        return 2;
    }

    // ---- fixtures -------------------------------------------------------------------------

    Map<String, Object> guestRequest(String host, long memory) {
        Map<String, Object> body = new HashMap<>();
        body.put("name", "vm-" + UUID.randomUUID().toString().substring(0, 8));
        body.put("hostId", host);
        body.put("memoryBytes", memory);
        body.put("disks", List.of(Map.of("name", "root", "sizeBytes", 8 * MIB)));
        body.put("workload", Map.of("dirtyPagesPerSecond", 2000, "hotSetFraction", 0.5,
                "diskWritesPerSecond", 50, "seed", 42));
        return body;
    }

    String createGuest(String host, long memory) {
        ApiClient.Reply created = api.post("/api/v1/guests", guestRequest(host, memory));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    String createJob(String guestId, String destination) {
        ApiClient.Reply created = api.post("/api/v1/migrations",
                Map.of("guestId", guestId, "destinationHostId", destination));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        return created.json().get("id").asString();
    }

    /**
     * A job that stays active until told otherwise: its guest dirties ~8 MB/s of memory while
     * the job may send 1 MiB/s, so pre-copy never converges.
     */
    String slowJob(String guestId, String destination) {
        ApiClient.Reply created = api.post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", destination, "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 50)));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        String jobId = created.json().get("id").asString();
        awaitStatus(jobId, "active");
        return jobId;
    }

    /** The statuses a job's timeline moved through (its transitions; waits and escalations left out). */
    List<String> transitions(String jobId) {
        List<String> statuses = new java.util.ArrayList<>();
        api.get("/api/v1/migrations/" + jobId + "/events").json().forEach(e -> {
            if (e.get("kind").asString().equals("transition")) {
                statuses.add(e.get("to").asString());
            }
        });
        return statuses;
    }

    JsonNode awaitStatus(String jobId, String... statuses) {
        JsonNode[] job = new JsonNode[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            job[0] = api.get("/api/v1/migrations/" + jobId).json();
            assertThat(job[0].get("status").asString()).isIn((Object[]) statuses);
        });
        return job[0];
    }
}
