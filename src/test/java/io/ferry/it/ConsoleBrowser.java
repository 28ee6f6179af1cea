package io.ferry.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * One headless Chromium for the console's browser tests (Debian's {@code chromium} and
 * {@code chromium-driver}; {@code .ci/run} installs them), started once and quit when the test
 * JVM ends. It resolves no name but 127.0.0.1, so a page that reached for a CDN would fail.
 * Every page a test visits is saved under {@code target/console-screenshots/}.
 */
final class ConsoleBrowser {

    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    private static ChromeDriver driver;
    private static final AtomicInteger shots = new AtomicInteger();

    private ConsoleBrowser() {
    }

    static synchronized WebDriver driver() {
        if (driver == null) {
            if (!Files.isExecutable(Path.of(CHROMIUM)) || !Files.isExecutable(Path.of(CHROMEDRIVER))) {
                throw new IllegalStateException("the console's browser tests need Debian's chromium and "
                        + "chromium-driver: apt-get install -y chromium chromium-driver (.ci/run does)");
            }
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM);
            options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1280,800", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(Path.of(CHROMEDRIVER).toFile()).usingAnyFreePort().build();
            driver = new ChromeDriver(service, options);
            driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
            viewport(1280, 800);
            ChromeDriver started = driver;
            Runtime.getRuntime().addShutdownHook(new Thread(started::quit));
        }
        return driver;
    }

    /** Sizes the window so that the page itself (the viewport, as screenshots show it) is width × height. */
    static void viewport(int width, int height) {
        WebDriver browser = driver();
        JavascriptExecutor js = (JavascriptExecutor) browser;
        for (int i = 0; i < 3; i++) {
            long w = ((Number) js.executeScript("return window.innerWidth;")).longValue();
            long h = ((Number) js.executeScript("return window.innerHeight;")).longValue();
            if (w == width && h == height) {
                return;
            }
            org.openqa.selenium.Dimension outer = browser.manage().window().getSize();
            browser.manage().window().setSize(new org.openqa.selenium.Dimension(
                    (int) (outer.getWidth() + width - w), (int) (outer.getHeight() + height - h)));
        }
    }

    /**
     * What issue 13 asks of every page for a person (item 4), checked on the page the browser shows:
     * every form control has a label (a {@code <label for>}, a wrapping label or an aria-label),
     * every time is in the browser's zone with its age, and the page does not scroll sideways.
     * Returns what is wrong, one line each.
     */
    static java.util.List<String> usabilityProblems(WebDriver browser) {
        @SuppressWarnings("unchecked")
        java.util.List<String> problems = (java.util.List<String>) ((JavascriptExecutor) browser).executeScript(
                "var out = [];"
                + "if (!document.querySelector('header.top') || !document.querySelector('main h1')) {"
                + "  out.push('not a console page: ' + document.title + ' ' + document.body.textContent.substring(0, 200));"
                + "}"
                + "document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(function (c) {"
                + "  var labelled = (c.id && document.querySelector('label[for=\"' + c.id + '\"]')) || c.closest('label')"
                + "    || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');"
                + "  if (!labelled) { out.push('no label: ' + c.outerHTML.substring(0, 120)); }"
                + "});"
                + "document.querySelectorAll('button, a[href]').forEach(function (b) {"
                + "  if (!(b.textContent.trim() || b.getAttribute('aria-label') || b.getAttribute('title'))) {"
                + "    out.push('no name: ' + b.outerHTML.substring(0, 120)); }"
                + "  if (b.tabIndex < 0) { out.push('not reachable by keyboard: ' + b.outerHTML.substring(0, 120)); }"
                + "});"
                + "document.querySelectorAll('time[datetime]').forEach(function (t) {"
                + "  if (t.textContent.indexOf('(') < 0 || t.textContent.indexOf(t.getAttribute('datetime')) >= 0) {"
                + "    out.push('time not shown in the browser zone with its age: ' + t.outerHTML.substring(0, 120)); }"
                + "});"
                + "if (document.documentElement.scrollWidth > window.innerWidth + 1) {"
                + "  out.push('scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide in '"
                + "    + window.innerWidth + ' px'); }"
                + "return out;");
        return problems;
    }

    /** Signs in at {@code base} with an API token, from a browser that had no session; ends on the overview. */
    static WebDriver signIn(String base, String token) {
        WebDriver browser = driver();
        browser.get(base + "/");
        browser.manage().deleteAllCookies();
        browser.get(base + "/");   // redirected to the console, then to its sign-in form
        if (!browser.getCurrentUrl().endsWith("/console/login")) {
            throw new AssertionError("expected the sign-in form, got " + browser.getCurrentUrl());
        }
        screenshot("sign-in");
        browser.findElement(By.id("token")).sendKeys(token);
        browser.findElement(By.id("sign-in")).click();
        waitFor(browser, Duration.ofSeconds(10)).until(ExpectedConditions.urlToBe(base + "/console"));
        return browser;
    }

    static WebDriverWait waitFor(WebDriver browser, Duration timeout) {
        WebDriverWait wait = new WebDriverWait(browser, timeout, Duration.ofMillis(100));
        wait.ignoring(StaleElementReferenceException.class);   // live parts are re-rendered
        return wait;
    }

    /** Marks the page: the mark is gone if the browser loads any page since. */
    static void markPage(WebDriver browser) {
        ((JavascriptExecutor) browser).executeScript("window.__ferryPage = 'kept';");
    }

    static boolean samePage(WebDriver browser) {
        return "kept".equals(((JavascriptExecutor) browser).executeScript("return window.__ferryPage;"));
    }

    /** An element's text, read in one step (live parts are replaced as events arrive). */
    static String text(WebDriver browser, String id) {
        Object text = ((JavascriptExecutor) browser).executeScript(
                "var e = document.getElementById(arguments[0]); return e == null ? null : e.textContent.trim();", id);
        if (text == null) {
            throw new NoSuchElementException("#" + id);
        }
        return text.toString().replaceAll("\\s+", " ");
    }

    /** Whether an element with this id is on the page now. */
    static boolean present(WebDriver browser, String id) {
        return Boolean.TRUE.equals(((JavascriptExecutor) browser).executeScript(
                "return document.getElementById(arguments[0]) != null;", id));
    }

    /** Saves what the browser shows now as {@code <n>-<name>.png}. */
    static void screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            byte[] png = ((TakesScreenshot) driver()).getScreenshotAs(OutputType.BYTES);
            Files.write(SCREENSHOTS.resolve(String.format("%03d-%s.png", shots.incrementAndGet(), name)), png);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
