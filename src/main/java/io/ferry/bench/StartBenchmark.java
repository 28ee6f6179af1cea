package io.ferry.bench;

import io.ferry.launch.StartCache;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry bench-start}: how long {@code java -jar ferry.jar serve} (embedded default: H2 file database,
 * two local workers) takes from process start until the API answers, with and without class-data sharing,
 * next to {@code java -version} measured in the same run. Cold is the first start on a new data dir (the
 * schema is created); then restarts on that data dir, as after a crash or an upgrade.
 */
@Command(name = "bench-start", mixinStandardHelpOptions = true,
        description = "Measure `serve` start-up: process start until GET /api/v1/hosts answers 200, cold and "
                + "median of restarts, with and without class-data sharing, next to `java -version`.")
public final class StartBenchmark implements Callable<Integer> {

    @Option(names = "--runs", defaultValue = "5", description = "Restarts timed after the cold start (default ${DEFAULT-VALUE})")
    private int runs;

    @Option(names = "--java-options", defaultValue = "-Xmx512m",
            description = "JVM options of serve (default ${DEFAULT-VALUE})")
    private String javaOptions;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Override
    public Integer call() throws Exception {
        String classPath = System.getProperty("java.class.path");
        Optional<StartCache> cache = StartCache.ofRunningJar();
        if (cache.isEmpty()) {
            System.err.println("bench-start runs from the packaged jar: java -jar target/ferry.jar bench-start");
            return 2;
        }
        Path jar = Path.of(classPath).toAbsolutePath();
        System.out.printf("machine: %d cores, load average %.2f; serve options: %s%n",
                Runtime.getRuntime().availableProcessors(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), javaOptions);
        if (!cache.get().prepare((format, args) -> System.out.println("cds: " + String.format(format, args)))) {
            System.err.println("the class-data sharing cache could not be prepared; see above");
            return 1;
        }
        List<Long> baseline = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            baseline.add(javaVersionMillis());
        }
        System.out.printf("%-30s median %6d ms%n", "java -version", median(baseline));
        report("serve, no class-data sharing", jar, false);
        report("serve, class-data sharing", jar, true);
        return 0;
    }

    private void report(String label, Path jar, boolean cds) throws Exception {
        Path dataDir = Files.createTempDirectory("ferry-bench-start-");
        try {
            long[] cold = startMillis(jar, dataDir, cds);
            List<Long> restarts = new ArrayList<>();
            List<Long> cpu = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                long[] run = startMillis(jar, dataDir, cds);
                restarts.add(run[0]);
                cpu.add(run[1]);
            }
            System.out.printf("%-30s cold %6d ms (cpu %6d ms)   restart median %6d ms (cpu %6d ms)   restarts: %s%n",
                    label, cold[0], cold[1], median(restarts), median(cpu), restarts);
        } finally {
            LocalControlPlane.deleteTree(dataDir);
        }
    }

    /**
     * Process start until GET /api/v1/hosts answers 200, and the CPU time serve had used by then (all its
     * threads: less sensitive than wall time to other load on the machine); then a clean stop (which stops the
     * workers too).
     */
    private long[] startMillis(Path jar, Path dataDir, boolean cds) throws Exception {
        int port = LocalControlPlane.freePort();
        String token = LocalControlPlane.newToken();
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(Arrays.stream(javaOptions.split("\\s+")).filter(s -> !s.isEmpty()).toList());
        if (!cds) {
            cmd.add("-Dferry.cds=false");
        }
        cmd.addAll(List.of("-jar", jar.toString(), "serve", "--server.port=" + port, "--ferry.data-dir=" + dataDir,
                "--ferry.api.token=" + token));
        HttpRequest hosts = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/hosts"))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(5)).build();
        long started = System.nanoTime();
        Process serve = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(new File(dataDir.toFile(), "serve.log"))).start();
        try {
            long deadline = started + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                try {
                    if (http.send(hosts, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        long wall = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                        long cpu = serve.toHandle().info().totalCpuDuration().map(Duration::toMillis).orElse(-1L);
                        return new long[] {wall, cpu};
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (!serve.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("serve did not answer (exit: "
                            + (serve.isAlive() ? "still running" : serve.exitValue()) + "); see " + dataDir);
                }
                Thread.sleep(20);
            }
        } finally {
            serve.destroy();
            if (!serve.waitFor(30, TimeUnit.SECONDS)) {
                serve.destroyForcibly().waitFor();
            }
        }
    }

    private static long javaVersionMillis() throws IOException, InterruptedException {
        long started = System.nanoTime();
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.waitFor();
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    }

    private static long median(List<Long> values) {
        return Quantiles.median(values, Comparator.naturalOrder());
    }
}
