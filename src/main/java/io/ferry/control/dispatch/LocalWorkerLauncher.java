package io.ferry.control.dispatch;

import io.ferry.control.system.AccessTokens;
import io.ferry.launch.FerryCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Embedded mode: runs one worker child process per local host, on loopback, sharing one
 * datastore folder. A worker that dies is started again (with back-off); all are stopped when
 * the control plane shuts down cleanly. A worker still running from an earlier control plane
 * that did not shut down cleanly is adopted, not replaced, so its guests survive the restart.
 */
@Component
@ConditionalOnProperty(name = "ferry.workers.launch", havingValue = "local", matchIfMissing = true)
class LocalWorkerLauncher implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(LocalWorkerLauncher.class);
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final long STABLE_NANOS = Duration.ofMinutes(1).toNanos();

    private final List<String> hostIds;
    private final Path dataDir;
    private final Path datastore;
    private final Duration handoffTimeout;
    private final boolean sharedDatastore;
    private final long memoryCapacity;
    private final List<String> javaOptions;
    /** Other replicas of this control plane, which the workers move to when this one cannot be reached. */
    private final List<String> otherReplicas;
    private final Duration heartbeatInterval;
    private final AccessTokens tokens;
    private final ControlChannelSecurity security;
    private final WebServerApplicationContext context;
    private final Map<String, ProcessHandle> running = new ConcurrentHashMap<>();
    private final Map<String, Integer> restarts = new ConcurrentHashMap<>();
    private final ScheduledExecutorService restarter = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "worker-launcher");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean stopping;
    /** The local workers' --qemu-binary; empty for their default. */
    private final String qemuBinary;

    LocalWorkerLauncher(@Value("${ferry.workers.local.hosts}") List<String> hostIds,
                        @Value("${ferry.data-dir}") Path dataDir,
                        @Value("${ferry.workers.local.datastore}") Path datastore,
                        @Value("${ferry.workers.local.memory-capacity}") long memoryCapacity,
                        @Value("${ferry.workers.local.java-options}") String javaOptions,
                        @Value("${ferry.worker.heartbeat-interval}") Duration heartbeatInterval,
                        @Value("${ferry.worker.handoff-timeout:60s}") Duration handoffTimeout,
                        @Value("${ferry.workers.local.shared-datastore:true}") boolean sharedDatastore,
                        @Value("${ferry.workers.local.other-replicas:}") List<String> otherReplicas,
                        @Value("${ferry.workers.local.qemu-binary:}") String qemuBinary,
                        AccessTokens tokens, ControlChannelSecurity security, WebServerApplicationContext context) {
        this.hostIds = hostIds.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        this.dataDir = dataDir.toAbsolutePath();
        this.datastore = datastore.toAbsolutePath();
        this.memoryCapacity = memoryCapacity;
        this.javaOptions = Arrays.stream(javaOptions.split("\\s+")).filter(s -> !s.isEmpty()).toList();
        this.heartbeatInterval = heartbeatInterval;
        this.handoffTimeout = handoffTimeout;
        this.sharedDatastore = sharedDatastore;
        this.otherReplicas = otherReplicas.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        this.qemuBinary = qemuBinary.strip();
        this.tokens = tokens;
        this.security = security;
        this.context = context;
    }

    /** Workers need the control plane's real port, known only once the web server runs. */
    @EventListener(ApplicationReadyEvent.class)
    void launchAll() {
        for (String hostId : hostIds) {
            Optional<ProcessHandle> earlier = adoptable(hostId);
            if (earlier.isPresent()) {
                log.info("adopting worker {} still running as pid {}", hostId, earlier.get().pid());
                watch(hostId, earlier.get());
            } else {
                launch(hostId);
            }
        }
    }

    private void launch(String hostId) {
        if (stopping) {
            return;
        }
        Path workerDir = dataDir.resolve("workers");
        try {
            Files.createDirectories(workerDir);
            Files.createDirectories(datastoreOf(hostId));
            ProcessBuilder builder = new ProcessBuilder(command(hostId))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(workerDir.resolve(hostId + ".log").toFile()));
            builder.environment().put("FERRY_WORKER_TOKEN", tokens.workerToken());
            Process process = builder.start();
            Files.writeString(pidFile(hostId), Long.toString(process.pid()));
            log.info("started worker {} as pid {} (log: {})", hostId, process.pid(),
                    workerDir.resolve(hostId + ".log"));
            watch(hostId, process.toHandle());
        } catch (IOException e) {
            log.error("cannot start worker {}: {}", hostId, e.toString());
            scheduleRestart(hostId);
        }
    }

    private List<String> controlPlaneUrls(int port) {
        List<String> urls = new ArrayList<>();
        urls.add(security.ownScheme() + "://127.0.0.1:" + port);
        urls.addAll(otherReplicas);
        return urls;
    }

    private List<String> command(String hostId) {
        List<String> options = new ArrayList<>();
        options.add(hostMarker(hostId));
        options.addAll(javaOptions);
        String archive = System.getProperty("ferry.cds.archive");
        if (archive != null && javaOptions.stream().noneMatch(o -> o.startsWith("-Xshare") || o.contains("SharedArchive"))) {
            // serve runs with class-data sharing (io.ferry.launch.StartCache) from this class path: so can workers
            options.addAll(List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:auto"));
        }
        List<String> cmd = new ArrayList<>(FerryCommand.of(options));   // the packaged jar, or classes dirs (mvn, IDE)
        int port = context.getWebServer().getPort();
        cmd.addAll(List.of("worker",
                "--host-id", hostId,
                "--control-plane-url", String.join(",", controlPlaneUrls(port)),
                "--bind", "127.0.0.1",
                "--datastore", datastoreOf(hostId).toString(),
                "--heartbeat-interval-ms", Long.toString(heartbeatInterval.toMillis()),
                "--handoff-timeout-ms", Long.toString(handoffTimeout.toMillis())));
        if (memoryCapacity > 0) {
            cmd.addAll(List.of("--memory-capacity", Long.toString(memoryCapacity)));
        }
        if (!qemuBinary.isEmpty()) {
            cmd.addAll(List.of("--qemu-binary", qemuBinary));
        }
        return cmd;
    }

    private Path datastoreOf(String hostId) {
        return sharedDatastore ? datastore : datastore.resolve(hostId);
    }

    private void watch(String hostId, ProcessHandle process) {
        running.put(hostId, process);
        long started = System.nanoTime();
        process.onExit().thenAccept(exited -> {
            running.remove(hostId, exited);
            if (System.nanoTime() - started > STABLE_NANOS) {
                restarts.remove(hostId);   // it ran a good while: the next failure starts the back-off afresh
            }
            if (!stopping) {
                log.warn("worker {} (pid {}) exited; starting it again", hostId, exited.pid());
                scheduleRestart(hostId);
            }
        });
    }

    private void scheduleRestart(String hostId) {
        int attempt = restarts.merge(hostId, 1, Integer::sum);
        long delayMs = Math.min(30_000, 500L << Math.min(attempt - 1, 6));
        restarter.schedule(() -> launch(hostId), delayMs, TimeUnit.MILLISECONDS);
    }

    /** A worker from an earlier run: its pid file points at a live process started for this host. */
    private Optional<ProcessHandle> adoptable(String hostId) {
        try {
            Path pidFile = pidFile(hostId);
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(p -> commandLine(p).contains(hostMarker(hostId)));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The JDK's ProcessHandle.Info leaves out arguments of long command lines; /proc has them all. */
    private static List<String> commandLine(ProcessHandle process) {
        Path cmdline = Path.of("/proc", Long.toString(process.pid()), "cmdline");
        try {
            if (Files.isReadable(cmdline)) {
                return Arrays.asList(Files.readString(cmdline).split("\0"));
            }
        } catch (IOException e) {
            // fall back to what the JDK offers
        }
        return process.info().arguments().map(Arrays::asList).orElse(List.of());
    }

    /** First JVM argument of a local worker, so it is recognised even where long command lines are cut short. */
    private static String hostMarker(String hostId) {
        return "-Dferry.local-worker=" + hostId;
    }

    private Path pidFile(String hostId) {
        return dataDir.resolve("workers").resolve(hostId + ".pid");
    }

    @Override
    public void destroy() {
        stopping = true;
        restarter.shutdownNow();
        running.forEach((hostId, process) -> {
            log.info("stopping worker {} (pid {})", hostId, process.pid());
            process.destroy();
        });
        running.forEach((hostId, process) -> {
            try {
                process.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                log.warn("worker {} did not stop within {}; killing it", hostId, STOP_GRACE);
                process.destroyForcibly();
            }
            try {
                Files.deleteIfExists(pidFile(hostId));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
