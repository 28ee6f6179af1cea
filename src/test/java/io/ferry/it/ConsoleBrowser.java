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
            ChromeDriver started = driver;
            Runtime.getRuntime().addShutdownHook(new Thread(started::quit));
        }
        return driver;
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
