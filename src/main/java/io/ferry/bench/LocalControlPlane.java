package io.ferry.bench;

import io.ferry.launch.FerryCommand;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A control plane for a benchmark: {@code ferry serve} as a child process, in a data dir of its
 * own, and an HTTP/JSON client of its API. {@link #close()} stops it, kills any worker it launched
 * that is left behind and deletes the data dir (unless kept); a shutdown hook stops it too when the
 * benchmark is interrupted. {@link #kill()} is kill -9 of serve alone: its workers live on.
 */
final class LocalControlPlane implements AutoCloseable {

    /** Prints a progress line ({@link String#format} arguments). */
    @FunctionalInterface
    interface Progress {
        void print(String format, Object... args);
    }

    /** An HTTP answer; {@link #json()} is null unless the body is JSON (parsed when asked). */
    record Reply(int status, String body, boolean isJson) {

        Reply expect(int expected) {
            if (status != expected) {
                throw new IllegalStateException("expected HTTP " + expected + " but got " + status + ": " + body);
            }
            return this;
        }

        Reply expectSuccess() {
            if (status / 100 != 2) {
                throw new IllegalStateException("HTTP " + status + ": " + body);
            }
            return this;
        }

        JsonNode json() {
            return body == null || body.isBlank() || !isJson ? null : JSON.readTree(body);
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final String name;
    private final String token;
    private final boolean keepData;
    private final Progress progress;
    private final Path dataDir;
    private final Thread shutdownHook;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private String base;
    private Process serve;

    private LocalControlPlane(String name, String token, boolean keepData, Progress progress) throws IOException {
        this.name = name;
        this.token = token;
        this.keepData = keepData;
        this.progress = progress;
        this.dataDir = Files.createTempDirectory("ferry-bench-" + name + "-");
        this.shutdownHook = new Thread(this::stopServe, "bench-" + name + "-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts {@code ferry serve} with one local worker per host, each offering {@code capacityBytes}
     * of guest memory, and returns once every host is reachable (at most 120 s).
     */
    static LocalControlPlane start(List<String> hosts, long capacityBytes, boolean keepData, Progress progress)
            throws Exception {
        return start("fleet", freePort(), newToken(), localWorkers(hosts, capacityBytes), hosts.size(), keepData,
                progress);
    }

    /**
     * Starts {@code ferry serve} named {@code name} (its data dir's prefix) on {@code port} with this
     * API token and {@code options} beyond {@link #serveCommand}'s, and returns once its API answers
     * and shows at least {@code reachableHosts} hosts, all reachable (at most 120 s).
     */
    static LocalControlPlane start(String name, int port, String token, List<String> options, int reachableHosts,
                                   boolean keepData, Progress progress) throws Exception {
        LocalControlPlane plane = new LocalControlPlane(name, token, keepData, progress);
        try {
            plane.startServe(port, options, reachableHosts);
            return plane;
        } catch (Exception | Error e) {
            plane.close();
            throw e;
        }
    }

    /** The options that give serve one local worker per host, each offering {@code capacityBytes}. */
    static List<String> localWorkers(List<String> hosts, long capacityBytes) {
        return List.of("--ferry.workers.local.hosts=" + String.join(",", hosts),
                "--ferry.workers.local.memory-capacity=" + capacityBytes);
    }

    /** The API's base URL, e.g. {@code http://127.0.0.1:8080}. */
    String base() {
        return base;
    }

    String token() {
        return token;
    }

    JsonNode get(String path) {
        return send("GET", path, null).expect(200).json();
    }

    JsonNode put(String path, Object body) {
        return send("PUT", path, body).expect(200).json();
    }

    JsonNode patch(String path, Object body) {
        return send("PATCH", path, body).expect(200).json();
    }

    /** One request; {@code body} (null for none) is sent as JSON. Any status is returned; I/O failures throw. */
    Reply send(String method, String path, Object body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token);
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(response.statusCode(), response.body(),
                    response.headers().firstValue("Content-Type").orElse("").contains("json"));
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Creates a guest ({@code POST /api/v1/guests} with this body) and returns its id once it runs (at most 60 s). */
    String createGuest(Map<String, Object> body) throws InterruptedException {
        Reply r = send("POST", "/api/v1/guests", body).expect(201);
        String id = r.json().get("id").asString();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!r.json().get("state").asString().equals("running")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("guest " + body.get("name") + " not running after 60 s: " + r.body());
            }
            Thread.sleep(100);
            r = send("GET", "/api/v1/guests/" + id, null);
        }
        return id;
    }

    /** Stops serve and its workers, then deletes the data dir unless it is to be kept. */
    @Override
    public void close() {
        stopServe();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
        if (keepData) {
            progress.print("data dir kept: %s", dataDir);
        } else {
            deleteTree(dataDir);
        }
    }

    /** kill -9 of serve alone, as a crash: the workers it launched live on (they report to other replicas). */
    void kill() throws InterruptedException {
        progress.print("kill -9 %s (pid %d)", name, serve.pid());
        serve.destroyForcibly().waitFor();
    }

    private void startServe(int port, List<String> options, int reachableHosts) throws Exception {
        base = "http://127.0.0.1:" + port;
        List<String> cmd = serveCommand(port, dataDir, token);
        cmd.addAll(options);
        progress.print("starting ferry serve (%s) on port %d, data dir %s (log: serve.log)", name, port, dataDir);
        serve = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("serve.log").toFile())).start();
        long started = System.nanoTime();
        long deadline = started + 120_000_000_000L;
        while (true) {
            if (!serve.isAlive()) {
                throw new IllegalStateException("ferry serve exited with " + serve.exitValue() + "; see "
                        + dataDir.resolve("serve.log"));
            }
            try {
                Reply r = send("GET", "/api/v1/hosts", null);
                if (r.status() == 200 && r.json().size() >= reachableHosts
                        && r.json().findValuesAsString("state").stream().allMatch("reachable"::equals)) {
                    break;
                }
            } catch (IllegalStateException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the control plane or its workers were not up after 120 s; see " + dataDir);
            }
            Thread.sleep(300);
        }
        progress.print("%s up in %.1f s (%d reachable hosts wanted)", name, (System.nanoTime() - started) / 1e9,
                reachableHosts);
    }

    /** Stops serve (a clean stop stops its workers) and kills any worker left behind. */
    private synchronized void stopServe() {
        if (serve == null) {
            return;
        }
        try {
            if (serve.isAlive()) {
                progress.print("stopping ferry serve (%s)", name);
                serve.destroy();
                if (!serve.waitFor(30, TimeUnit.SECONDS)) {
                    serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            Path workers = dataDir.resolve("workers");
            List<Path> pids = new ArrayList<>();
            if (Files.isDirectory(workers)) {
                try (Stream<Path> files = Files.list(workers)) {
                    files.filter(f -> f.getFileName().toString().endsWith(".pid")).forEach(pids::add);
                }
            }
            for (Path pid : pids) {
                // only a process of this data dir: the pid may have been reused since
                ProcessHandle.of(Long.parseLong(Files.readString(pid).strip()))
                        .filter(p -> p.info().commandLine().map(c -> c.contains(dataDir.toString())).orElse(true))
                        .ifPresent(p -> {
                            p.destroyForcibly();
                            p.onExit().completeOnTimeout(p, 10, TimeUnit.SECONDS).join();
                        });
            }
        } catch (IOException | RuntimeException e) {
            progress.print("cleanup: %s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        serve = null;
    }

    /** A port free on loopback now. */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** A random API token for one run. */
    static String newToken() {
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        return HexFormat.of().formatHex(secret);
    }

    /** {@code java … ferry serve} on {@code port} with this data dir and token; callers add their own options. */
    static List<String> serveCommand(int port, Path dataDir, String token) {
        List<String> cmd = new ArrayList<>(FerryCommand.of(List.of("-Xmx512m")));
        cmd.addAll(List.of("serve", "--server.port=" + port, "--ferry.data-dir=" + dataDir,
                "--ferry.api.token=" + token));
        return cmd;
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }
}
