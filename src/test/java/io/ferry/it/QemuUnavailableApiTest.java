package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.ferry.contract.OpenApiContract;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue 16, item 1: a worker whose QEMU cannot run (its --qemu-binary names nothing) registers
 * the qemu runtime as unavailable, with why, and a qemu guest on it is refused with 422 naming the
 * host and that reason; synthetic guests go on as before. One local worker, the cheapest real set-up.
 */
class QemuUnavailableApiTest extends ApiTestSupport {

    private static final String BOGUS = "/nonexistent/qemu-system-x86_64";

    @DynamicPropertySource
    static void bogusQemu(DynamicPropertyRegistry registry) {
        String dataDir = newDataDir("no-qemu").toString();
        registry.add("ferry.data-dir", () -> dataDir);
        registry.add("ferry.workers.local.hosts", () -> "host-q");
        registry.add("ferry.workers.local.qemu-binary", () -> BOGUS);
        TestDatabase.H2.register(registry, dataDir);
    }

    @Override
    int hostCount() {
        return 1;
    }

    @Test
    void aQemuGuestOnAHostWithoutARunnableQemuGets422NamingTheHostAndWhy() {
        JsonNode runtimes = api.get("/api/v1/hosts/host-q").json().get("runtimes");
        assertThat(runtimes).hasSize(2);
        assertThat(runtimes.get(0).get("runtime").asString()).isEqualTo("synthetic");
        assertThat(runtimes.get(0).get("available").asBoolean()).isTrue();
        assertThat(runtimes.get(1).get("runtime").asString()).isEqualTo("qemu");
        assertThat(runtimes.get(1).get("available").asBoolean()).isFalse();
        assertThat(runtimes.get(1).get("detail").asString()).contains(BOGUS).contains("does not exist");

        ApiClient.Reply refused = api.post("/api/v1/guests", Map.of("name", "no-qemu", "hostId", "host-q",
                "runtime", "qemu", "memoryBytes", 64 * MIB, "disks", List.of(Map.of("name", "root", "sizeBytes", MIB))));
        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(OpenApiContract.shared().violations("Problem", refused.body())).isEmpty();
        assertThat(refused.json().get("detail").asString())
                .contains("host 'host-q' cannot run qemu guests").contains(BOGUS);
        assertThat(api.get("/api/v1/guests").json()).isEmpty();

        assertThat(createGuest("host-q", 16 * MIB)).isNotBlank();   // synthetic guests are unaffected
    }
}
