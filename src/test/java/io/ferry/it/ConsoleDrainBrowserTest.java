package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import tools.jackson.databind.JsonNode;

/**
 * Draining a host from its console page, in a real browser against a {@code ferry serve} of its
 * own with three local workers: a drain moves every guest of the host, so it does not run in the
 * server other tests share. The host's page shows the drain's progress and the host emptying
 * without a reload.
 */
class ConsoleDrainBrowserTest {

    private static final String TOKEN = "console-drain-token";
    private static final long MIB = 1L << 20;

    private Process serve;
    private final Path dataDir = ApiTestSupport.newDataDir("console-drain");

    @AfterEach
    void stop() throws Exception {
        FerryProcess.stop(serve, dataDir);
    }

    @Test
    void anOperatorDrainsAHostFromItsPageAndWatchesItEmpty() throws Exception {
        int port = FerryProcess.freePort();
        serve = FerryProcess.serve(dataDir, port, "--ferry.api.token=" + TOKEN,
                "--ferry.workers.local.hosts=host-a,host-b,host-c",
                "--ferry.workers.local.memory-capacity=" + (1L << 30));
        String base = "http://127.0.0.1:" + port;
        ApiClient api = new ApiClient(base, TOKEN);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                .untilAsserted(() -> assertThat(api.get("/api/v1/hosts").json().findValuesAsString("state"))
                        .containsExactly("reachable", "reachable", "reachable"));
        for (int i = 0; i < 3; i++) {
            ApiClient.Reply created = api.post("/api/v1/guests", Map.of("name", "drained-" + i, "hostId", "host-a",
                    "memoryBytes", 32 * MIB, "disks", List.of(Map.of("name", "root", "sizeBytes", 8 * MIB)),
                    "workload", Map.of("dirtyPagesPerSecond", 1000, "hotSetFraction", 0.5, "seed", i)));
            assertThat(created.status()).as(created.body()).isEqualTo(201);
        }

        WebDriver browser = ConsoleBrowser.signIn(base, TOKEN);
        browser.get(base + "/console/hosts/host-a");
        ConsoleBrowser.markPage(browser);
        assertThat(browser.findElements(By.cssSelector("#host-guests tbody tr"))).hasSize(3);
        assertThat(ConsoleBrowser.present(browser, "cordoned")).isFalse();
        ConsoleBrowser.screenshot("drain-host-before");

        browser.findElement(By.id("drain")).click();
        ConsoleBrowser.waitFor(browser, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        assertThat(ConsoleBrowser.waitFor(browser, Duration.ofSeconds(10)).until(b ->
                b.findElements(By.cssSelector("#action-result .alert.ok")).stream().findFirst().orElse(null))
                .getText()).contains("Draining host-a", "3 guest(s) to move");
        // the drain's progress shows up on the page as it runs
        ConsoleBrowser.waitFor(browser, Duration.ofSeconds(10)).until(b -> ConsoleBrowser.present(b, "drain-state"));
        assertThat(ConsoleBrowser.text(browser, "cordoned")).isEqualTo("cordoned");
        ConsoleBrowser.screenshot("drain-host-draining");

        ConsoleBrowser.waitFor(browser, Duration.ofSeconds(180))
                .until(b -> ConsoleBrowser.present(b, "no-guests")
                        && ConsoleBrowser.text(b, "drain-state").equals("completed"));
        assertThat(ConsoleBrowser.text(browser, "drain-left")).startsWith("0 of 3");
        assertThat(ConsoleBrowser.samePage(browser)).as("no reload").isTrue();
        ConsoleBrowser.screenshot("drain-host-empty");

        // what the page showed is what the API says: every guest left host-a, none was lost
        JsonNode guests = api.get("/api/v1/guests").json();
        assertThat(guests).hasSize(3);
        for (JsonNode g : guests) {
            assertThat(g.get("hostId").asString()).as(g.toString()).isIn("host-b", "host-c");
            assertThat(g.get("state").asString()).as(g.toString()).isEqualTo("running");
        }
        browser.get(base + "/console");
        ConsoleBrowser.screenshot("drain-overview");
    }
}
