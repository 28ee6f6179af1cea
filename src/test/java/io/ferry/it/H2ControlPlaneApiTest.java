package io.ferry.it;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The API on H2, and (sharing this server) the strictness checks and the fuzz of issue 12, and the
 * web console in a real browser (issue 13), and qemu guests (issue 16).
 */
class H2ControlPlaneApiTest extends ControlPlaneApiTests
        implements StrictApiTests, ConsoleBrowserTests, QemuGuestApiTests, SaveRestoreApiTests {

    private static java.nio.file.Path dataDirectory;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        dataDirectory = newDataDir("h2-api");
        String dataDir = dataDirectory.toString();
        registry.add("ferry.data-dir", () -> dataDir);
        TestDatabase.H2.register(registry, dataDir);
    }

    @Override
    public ApiClient client() {
        return api;
    }

    @Override
    public int serverPort() {
        return port;
    }

    /** The local workers' shared datastore (ferry.workers.local.datastore: its default under the data dir). */
    @Override
    public java.nio.file.Path datastore() {
        return dataDirectory.resolve("datastore");
    }
}
