package io.ferry.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser (headless Chromium) against the running control plane and
 * its workers: what an operator relies on, never by reloading a page to see a change. Runs in
 * the context of {@link H2ControlPlaneApiTest} (one server for both).
 */
interface ConsoleBrowserTests {

    ApiClient client();

    int serverPort();

    String ADMIN_TOKEN = ApiTestSupport.API_TOKEN;
    long MIB = 1L << 20;

    private String base() {
        return "http://127.0.0.1:" + serverPort();
    }

    private WebDriver signIn(String token) {
        return ConsoleBrowser.signIn(base(), token);
    }

    private static WebDriverWait waitFor(WebDriver browser, Duration timeout) {
        return ConsoleBrowser.waitFor(browser, timeout);
    }

    private static void markPage(WebDriver browser) {
        ConsoleBrowser.markPage(browser);
    }

    private static boolean samePage(WebDriver browser) {
        return ConsoleBrowser.samePage(browser);
    }

    private static String text(WebDriver browser, String id) {
        return ConsoleBrowser.text(browser, id);
    }

    /**
     * Submits a form by its button and waits for the page that answers it: a loaded machine may
     * still show the old page when the click returns.
     */
    private static void submit(WebDriver browser, String buttonId) {
        WebElement page = browser.findElement(By.tagName("html"));
        browser.findElement(By.id(buttonId)).click();
        waitFor(browser, Duration.ofSeconds(30)).until(ExpectedConditions.stalenessOf(page));
        waitFor(browser, Duration.ofSeconds(30)).until(b -> "complete".equals(
                ((JavascriptExecutor) b).executeScript("return document.readyState")));
    }

    private static String progress(WebDriver browser) {
        return String.valueOf(((JavascriptExecutor) browser).executeScript(
                "var e = document.querySelector('#live [role=progressbar]');"
                        + " return e == null ? null : e.getAttribute('aria-valuenow');"));
    }

    private String apiGuest(String host, long memory, Map<String, Object> workload) {
        ApiClient.Reply created = client().post("/api/v1/guests", Map.of("name", "console-" + UUID.randomUUID()
                .toString().substring(0, 6), "hostId", host, "memoryBytes", memory,
                "disks", List.of(Map.of("name", "root", "sizeBytes", 8 * MIB)), "workload", workload));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asString();
    }

    @Test
    default void anOperatorCreatesAGuestMigratesItFromTheDialogAndWatchesItCompleteLive() {
        WebDriver browser = signIn(ADMIN_TOKEN);
        ConsoleBrowser.screenshot("overview");
        assertThat(browser.findElement(By.id("hosts")).getText()).contains("host-a", "host-b");

        browser.get(base() + "/console/guests");
        String name = "ui-" + UUID.randomUUID().toString().substring(0, 6);
        browser.findElement(By.id("g-name")).sendKeys(name);
        new Select(browser.findElement(By.id("g-host"))).selectByValue("host-a");
        WebElement memory = browser.findElement(By.id("g-memory"));
        memory.clear();
        memory.sendKeys("64M");
        ConsoleBrowser.screenshot("guests-create");
        browser.findElement(By.id("create-guest-submit")).click();
        waitFor(browser, Duration.ofSeconds(20)).until(ExpectedConditions.urlContains("/console/guests/"));
        assertThat(text(browser, "guest-state")).isEqualTo("running");
        assertThat(text(browser, "guest-host")).isEqualTo("host-a");
        ConsoleBrowser.screenshot("guest");

        browser.findElement(By.id("open-migrate")).click();
        new Select(browser.findElement(By.id("destination"))).selectByValue("host-b");
        browser.findElement(By.id("m-bw")).sendKeys("8M");   // 64 MiB at 8 MiB/s: progress an eye can follow
        browser.findElement(By.id("preflight-btn")).click();
        WebElement verdict = waitFor(browser, Duration.ofSeconds(20))
                .until(ExpectedConditions.visibilityOfElementLocated(By.id("preflight-verdict")));
        assertThat(verdict.getText()).startsWith("Accepted");
        assertThat(text(browser, "preflight-move")).isEqualTo("host-a → host-b");
        assertThat(text(browser, "forecast")).contains("Dirty rate");
        ConsoleBrowser.screenshot("migrate-preflight");
        browser.findElement(By.id("start-migration")).click();
        waitFor(browser, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        waitFor(browser, Duration.ofSeconds(20)).until(ExpectedConditions.urlContains("/console/migrations/"));
        markPage(browser);

        // the bar moves while the job runs, and the job completes, all without a reload
        WebDriverWait job = waitFor(browser, Duration.ofSeconds(90));
        job.until(b -> List.of("active", "completed").contains(text(b, "job-status")));
        String first = progress(browser);
        ConsoleBrowser.screenshot("job-started");
        job.until(b -> !progress(b).equals(first) || text(b, "job-status").equals("completed"));
        ConsoleBrowser.screenshot("job-running");
        job.until(b -> text(b, "job-status").equals("completed"));
        assertThat(progress(browser)).isEqualTo("100");
        assertThat(Integer.parseInt(browser.findElement(By.id("chart")).getAttribute("data-points")))
                .as("chart points").isGreaterThan(1);
        assertThat(browser.findElement(By.id("timeline")).getText()).contains("completed");
        assertThat(samePage(browser)).as("no reload").isTrue();
        ConsoleBrowser.screenshot("job-completed");

        // the disk's ownership moved with the guest, and its history says how
        // the page swaps its parts in as events arrive: a link found just before a swap goes stale
        waitFor(browser, Duration.ofSeconds(10)).ignoring(StaleElementReferenceException.class).until(b -> {
            b.findElement(By.cssSelector("#job-disks a")).click();
            return true;
        });
        waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.urlContains("/console/disks/"));
        assertThat(text(browser, "disk-owner")).startsWith("host-b (active");
        assertThat(text(browser, "ownership-history")).contains("handoff", "host-b active");
        ConsoleBrowser.screenshot("disk");
        browser.get(base() + "/console/policies");
        assertThat(text(browser, "limits")).contains("jobs in the cluster");
        ConsoleBrowser.screenshot("policies");

        browser.get(base() + "/console/migrations");
        assertThat(browser.findElement(By.id("job-list")).getText()).contains(name);
        ConsoleBrowser.screenshot("migrations");
    }

    @Test
    default void anOperatorCancelsASlowJobFromItsPageAndTheGuestStaysOnTheSource() {
        String guestId = apiGuest("host-a", 32 * MIB, Map.of("dirtyPagesPerSecond", 2000, "hotSetFraction", 0.5));
        ApiClient.Reply created = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 50)));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        String jobId = created.json().get("id").asString();

        WebDriver browser = signIn(ADMIN_TOKEN);
        browser.get(base() + "/console/migrations/" + jobId);
        markPage(browser);
        waitFor(browser, Duration.ofSeconds(30)).until(b -> text(b, "job-status").equals("active"));
        ConsoleBrowser.screenshot("slow-job");
        waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.elementToBeClickable(By.id("cancel"))).click();
        waitFor(browser, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        waitFor(browser, Duration.ofSeconds(30)).until(b -> text(b, "job-status").equals("cancelled"));
        assertThat(samePage(browser)).as("no reload").isTrue();
        ConsoleBrowser.screenshot("job-cancelled");

        browser.get(base() + "/console/guests/" + guestId);
        assertThat(text(browser, "guest-host")).isEqualTo("host-a");
        assertThat(text(browser, "guest-state")).isEqualTo("running");
        ConsoleBrowser.screenshot("guest-after-cancel");
    }

    @Test
    default void anOperatorSwitchesToPostcopyAndCancelIsRefusedInPlainWords() {
        // dirtying ~80 MiB/s against a 1 MiB/s link: pre-copy alone never converges, so the job stays
        // active until the switch, and the background push at 1 MiB/s keeps it in post-copy ~30 s
        String guestId = apiGuest("host-a", 32 * MIB, Map.of("dirtyPagesPerSecond", 20000, "hotSetFraction", 0.5));
        ApiClient.Reply created = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 50,
                        "maxPostcopyBandwidth", MIB, "capabilities", Map.of("postcopy", true))));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        String jobId = created.json().get("id").asString();

        WebDriver browser = signIn(ADMIN_TOKEN);
        browser.get(base() + "/console/migrations/" + jobId);
        markPage(browser);
        waitFor(browser, Duration.ofSeconds(30)).until(b -> text(b, "job-status").equals("active"));
        ConsoleBrowser.screenshot("postcopy-job-precopy");
        waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.elementToBeClickable(By.id("postcopy")))
                .click();
        waitFor(browser, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        waitFor(browser, Duration.ofSeconds(30)).until(b -> text(b, "job-status").equals("postcopy-active"));
        ConsoleBrowser.screenshot("postcopy-job-switched");

        // cancel is offered (an operator should read why it is refused, not find a dead button) and refused
        waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.elementToBeClickable(By.id("cancel"))).click();
        waitFor(browser, Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        String refusal = waitFor(browser, Duration.ofSeconds(10)).until(b -> {
            List<WebElement> alerts = b.findElements(By.cssSelector("#action-result .alert.error"));
            return alerts.isEmpty() ? null : alerts.get(0).getText();
        });
        assertThat(refusal).contains("Refused", "can no longer be cancelled", "post-copy",
                "the guest already runs on the destination");
        assertThat(text(browser, "job-status")).isIn("postcopy-active", "completed");
        assertThat(samePage(browser)).as("no reload").isTrue();
        ((JavascriptExecutor) browser).executeScript("document.getElementById('action-result')"
                + ".scrollIntoView({block: 'center'});");
        ConsoleBrowser.screenshot("postcopy-cancel-refused");
        assertThat(client().get("/api/v1/migrations/" + jobId).json().get("status").asString())
                .isIn("postcopy-active", "completed");

        // and it completes on the destination, still without a reload
        waitFor(browser, Duration.ofSeconds(120)).until(b -> text(b, "job-status").equals("completed"));
        assertThat(samePage(browser)).as("no reload").isTrue();
        assertThat(Integer.parseInt(browser.findElement(By.id("chart-faults")).getAttribute("data-points")))
                .as("fault latency points while watching").isPositive();
        ConsoleBrowser.screenshot("postcopy-job-completed");

        // opened afterwards, the page draws every chart from the job's history alone
        browser.get(base() + "/console/migrations/" + jobId);
        String[] points = browser.findElement(By.id("chart")).getAttribute("data-history").split(";");
        assertThat(points.length).as("history points").isGreaterThan(2);
        assertThat(java.util.Arrays.stream(points).map(p -> p.split(",", -1))
                .filter(v -> !v[4].isEmpty() && Long.parseLong(v[4]) > 0)).as("dirty rate in the history").isNotEmpty();
        assertThat(Integer.parseInt(browser.findElement(By.id("chart-faults")).getAttribute("data-points")))
                .as("fault latency points from the history").isPositive();
        ((JavascriptExecutor) browser).executeScript("document.getElementById('chart').scrollIntoView();");
        ConsoleBrowser.screenshot("postcopy-job-history-charts");
    }

    @Test
    default void anAdminCreatesAndEditsAPolicyAndSeesEachRefusalNextToItsField() {
        String name = "console-" + UUID.randomUUID().toString().substring(0, 6);
        WebDriver browser = signIn(ADMIN_TOKEN);
        try {
            browser.get(base() + "/console/policies");
            ConsoleBrowser.screenshot("policies-list");
            // a limit out of the API's range is refused at its field, and nothing changes
            String before = text(browser, "limits");
            WebElement maxJobs = browser.findElement(By.id("l-maxJobs"));
            maxJobs.clear();
            maxJobs.sendKeys("5000");
            submit(browser, "limits-save");
            assertThat(text(browser, "err-maxJobs")).contains("less than or equal to 1000");
            assertThat(browser.findElement(By.id("l-maxJobs")).getAttribute("aria-invalid")).isEqualTo("true");
            assertThat(text(browser, "limits")).isEqualTo(before);
            ConsoleBrowser.screenshot("limits-refused");

            browser.findElement(By.id("new-policy")).click();
            waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.urlContains("/console/policies/new"));
            browser.findElement(By.id("p-name")).sendKeys(name);
            browser.findElement(By.id("p-guestSelector")).sendKeys("console-test=" + name);
            browser.findElement(By.id("p-downtimeLimitMs")).sendKeys("0");
            new Select(browser.findElement(By.id("p-allowPostcopy"))).selectByValue("false");
            browser.findElement(By.id("p-escalation")).sendKeys("postcopy, abort");
            submit(browser, "policy-save");
            // the field rule (the API's Bean Validation) and the rule across fields (the policy's own)
            assertThat(text(browser, "err-downtimeLimitMs")).contains("greater than or equal to 1");
            assertThat(text(browser, "policy-errors")).contains("Not saved");
            assertThat(client().get("/api/v1/policies/" + name).status()).isEqualTo(404);
            ConsoleBrowser.screenshot("policy-refused-field");
            WebElement downtime = browser.findElement(By.id("p-downtimeLimitMs"));
            downtime.clear();
            downtime.sendKeys("400");
            submit(browser, "policy-save");
            assertThat(text(browser, "err-escalation")).contains("needs allowPostcopy");
            assertThat(browser.findElements(By.id("err-downtimeLimitMs"))).isEmpty();
            ConsoleBrowser.screenshot("policy-refused-across-fields");
            new Select(browser.findElement(By.id("p-allowPostcopy"))).selectByValue("true");
            submit(browser, "policy-save");
            waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.urlContains("/console/policies/" + name));
            assertThat(text(browser, "policy-saved")).startsWith("Saved");
            ConsoleBrowser.screenshot("policy-created");

            // edit it: the API now answers with the new value
            downtime = browser.findElement(By.id("p-downtimeLimitMs"));
            downtime.clear();
            downtime.sendKeys("800");
            browser.findElement(By.id("p-maxBandwidth")).sendKeys("64M");
            new Select(browser.findElement(By.id("p-autoConverge"))).selectByValue("true");
            browser.findElement(By.id("p-convergence.cpuThrottleInitial")).sendKeys("30");
            browser.findElement(By.id("p-convergence.xbzrleCacheSize")).sendKeys("32M");
            submit(browser, "policy-save");
            waitFor(browser, Duration.ofSeconds(10)).until(b -> ConsoleBrowser.present(b, "policy-saved"));
            ConsoleBrowser.screenshot("policy-edited");
            ApiClient.Reply policy = client().get("/api/v1/policies/" + name);
            assertThat(policy.status()).isEqualTo(200);
            assertThat(policy.json().get("downtimeLimitMs").asLong()).isEqualTo(800);
            assertThat(policy.json().get("maxBandwidth").asLong()).isEqualTo(64 * MIB);
            assertThat(policy.json().get("escalation").toString()).contains("postcopy", "abort");
            assertThat(policy.json().get("autoConverge").asBoolean()).isTrue();
            assertThat(policy.json().get("convergence").get("cpuThrottleInitial").asInt()).isEqualTo(30);
            assertThat(policy.json().get("convergence").get("xbzrleCacheSize").asLong()).isEqualTo(32 * MIB);
            browser.get(base() + "/console/policies");
            assertThat(text(browser, "policies")).contains(name);
            ConsoleBrowser.screenshot("policies-after-edit");
        } finally {
            client().delete("/api/v1/policies/" + name);
        }
    }

    @Test
    default void aPersonUsesEveryPageByKeyboardWithLabelsLocalTimesAndInANarrowWindow() {
        String guestId = apiGuest("host-a", 16 * MIB, Map.of("dirtyPagesPerSecond", 100, "hotSetFraction", 0.5));
        ApiClient.Reply created = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b"));
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        String jobId = created.json().get("id").asString();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> client()
                .get("/api/v1/migrations/" + jobId).json().get("status").asString().equals("completed"));
        String diskId = client().get("/api/v1/guests/" + guestId).json().get("disks").get(0).get("id").asString();
        List<String> pages = List.of("/console", "/console/guests", "/console/guests/" + guestId,
                "/console/migrations", "/console/migrations/" + jobId, "/console/hosts/host-b",
                "/console/disks/" + diskId, "/console/policies", "/console/policies/new");

        WebDriver browser = signIn(ADMIN_TOKEN);
        try {
            for (String page : pages) {
                browser.get(base() + page);
                assertThat(ConsoleBrowser.usabilityProblems(browser)).as(page + " at 1280x800").isEmpty();
                ConsoleBrowser.screenshot("wide" + page.replace('/', '-'));
            }
            // keyboard only: from the top of the guest page to the Migrate dialog and back out
            browser.get(base() + "/console/guests/" + guestId);
            JavascriptExecutor js = (JavascriptExecutor) browser;
            org.openqa.selenium.interactions.Actions keys = new org.openqa.selenium.interactions.Actions(browser);
            int presses = 0;
            while (!"open-migrate".equals(js.executeScript("return document.activeElement.id;")) && presses < 60) {
                keys.sendKeys(org.openqa.selenium.Keys.TAB).perform();
                presses++;
            }
            assertThat(js.executeScript("return document.activeElement.id;")).as("Migrate… by Tab").isEqualTo("open-migrate");
            ConsoleBrowser.screenshot("keyboard-focus-migrate");
            keys.sendKeys(org.openqa.selenium.Keys.ENTER).perform();
            assertThat(js.executeScript("return document.getElementById('migrate-dialog').open;")).isEqualTo(true);
            assertThat(js.executeScript("return document.getElementById('migrate-dialog').contains(document.activeElement);"))
                    .as("focus moves into the dialog").isEqualTo(true);
            ConsoleBrowser.screenshot("keyboard-migrate-dialog");
            keys.sendKeys(org.openqa.selenium.Keys.ESCAPE).perform();
            assertThat(js.executeScript("return document.getElementById('migrate-dialog').open;")).isEqualTo(false);

            // times in the browser's zone: in Kolkata (UTC+05:30) the filter's 05:30 is midnight UTC
            org.openqa.selenium.chrome.ChromeDriver chrome = (org.openqa.selenium.chrome.ChromeDriver) browser;
            chrome.executeCdpCommand("Emulation.setTimezoneOverride", Map.of("timezoneId", "Asia/Kolkata"));
            try {
                browser.get(base() + "/console/migrations");
                js.executeScript("var f = document.getElementById('f-before'); f.value = '2030-01-01T05:30';"
                        + "f.dispatchEvent(new Event('change'));");
                browser.findElement(By.cssSelector("form.filters button[type=submit]")).click();
                waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.urlContains("before="));
                assertThat(java.net.URLDecoder.decode(browser.getCurrentUrl(), java.nio.charset.StandardCharsets.UTF_8))
                        .contains("before=2030-01-01T00:00:00.000Z");
                assertThat(browser.findElement(By.id("f-before")).getAttribute("value")).isEqualTo("2030-01-01T05:30");
                assertThat(text(browser, "job-list")).contains(created.json().get("id").asString().substring(0, 8));
                String shown = String.valueOf(js.executeScript("var t = document.querySelector('#job-list time');"
                        + "var d = new Date(t.getAttribute('datetime'));"
                        + "return t.textContent + '|' + d.toLocaleString();"));
                assertThat(shown.split("\\|")[0]).startsWith(shown.split("\\|")[1]);
                ConsoleBrowser.screenshot("migrations-kolkata");
            } finally {
                chrome.executeCdpCommand("Emulation.setTimezoneOverride", Map.of("timezoneId", ""));
            }

            ConsoleBrowser.viewport(390, 844);
            for (String page : pages) {
                browser.get(base() + page);
                assertThat(ConsoleBrowser.usabilityProblems(browser)).as(page + " at 390x844").isEmpty();
                ConsoleBrowser.screenshot("narrow" + page.replace('/', '-'));
            }
        } finally {
            ConsoleBrowser.viewport(1280, 800);
        }
    }

    @Test
    default void aViewerSeesNoActionButtonAndAForgedActionIsRefused() {
        String guestId = apiGuest("host-a", 32 * MIB, Map.of("dirtyPagesPerSecond", 2000, "hotSetFraction", 0.5));
        ApiClient.Reply created = client().post("/api/v1/migrations", Map.of("guestId", guestId,
                "destinationHostId", "host-b", "parameters", Map.of("maxBandwidth", MIB, "downtimeLimitMs", 50)));
        String jobId = created.json().get("id").asString();
        ApiClient.Reply token = client().post("/api/v1/tokens", Map.of("name", "console-viewer-"
                + UUID.randomUUID().toString().substring(0, 6), "role", "viewer"));
        assertThat(token.status()).as(token.body()).isEqualTo(201);
        try {
            WebDriver browser = signIn(token.json().get("token").asString());
            assertThat(text(browser, "who")).endsWith("(viewer)");
            browser.get(base() + "/console/migrations/" + jobId);
            assertThat(browser.findElements(By.id("cancel"))).isEmpty();
            assertThat(browser.findElements(By.id("tune-btn"))).isEmpty();
            assertThat(text(browser, "job-status")).isIn("queued", "setup", "active");
            ConsoleBrowser.screenshot("viewer-job");
            browser.get(base() + "/console/guests/" + guestId);
            assertThat(browser.findElements(By.id("open-migrate"))).isEmpty();
            assertThat(browser.findElements(By.id("pause"))).isEmpty();
            ConsoleBrowser.screenshot("viewer-guest");
            browser.get(base() + "/console/hosts/host-a");
            assertThat(browser.findElements(By.id("drain"))).isEmpty();
            ConsoleBrowser.screenshot("viewer-host");
            browser.get(base() + "/console/policies");
            assertThat(browser.findElements(By.id("limits-form"))).isEmpty();
            assertThat(browser.findElements(By.id("new-policy"))).isEmpty();
            ConsoleBrowser.screenshot("viewer-policies");

            // the button is not there, so forge its request with the page's own CSRF token: refused all the same
            Object status = ((JavascriptExecutor) browser).executeAsyncScript(
                    "var done = arguments[arguments.length - 1];"
                            + "var h = document.querySelector('meta[name=csrf-header]').content;"
                            + "var t = document.querySelector('meta[name=csrf-token]').content;"
                            + "var headers = {}; headers[h] = t;"
                            + "fetch('/console/migrations/" + jobId + "/cancel', {method: 'POST', headers: headers})"
                            + ".then(function (r) { done(r.status); }, function (e) { done(String(e)); });");
            assertThat(((Number) status).intValue()).isEqualTo(403);
            Object limits = ((JavascriptExecutor) browser).executeAsyncScript(
                    "var done = arguments[arguments.length - 1];"
                            + "var h = document.querySelector('meta[name=csrf-header]').content;"
                            + "var t = document.querySelector('meta[name=csrf-token]').content;"
                            + "var headers = {'Content-Type': 'application/x-www-form-urlencoded'}; headers[h] = t;"
                            + "fetch('/console/admission/limits', {method: 'POST', headers: headers, body: 'maxJobs=0'})"
                            + ".then(function (r) { done(r.status); }, function (e) { done(String(e)); });");
            assertThat(((Number) limits).intValue()).isEqualTo(403);
            assertThat(client().get("/api/v1/admission").json().get("limits").get("maxJobs").asInt()).isPositive();
            assertThat(client().get("/api/v1/migrations/" + jobId).json().get("status").asString())
                    .isIn("queued", "setup", "active");
        } finally {
            client().post("/api/v1/migrations/" + jobId + "/cancel", null);
        }
    }
}
