package io.ferry.worker;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.List;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry worker}: one per host. Every option can also come from the environment. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a worker: host guests and their disks, and serve as a migration source or destination.")
public final class WorkerCommand implements Callable<Integer> {

    @Option(names = "--host-id", required = true, defaultValue = "${env:FERRY_HOST_ID}",
            description = "Name of this host (lower-case DNS label). Env: FERRY_HOST_ID")
    String hostId;

    @Option(names = "--control-plane-url", required = true, defaultValue = "${env:FERRY_CONTROL_PLANE_URL}",
            split = ",", description = "Base URL of the control plane, e.g. http://127.0.0.1:8080; several "
                    + "replicas comma-separated (the worker moves to the next one that answers). "
                    + "Env: FERRY_CONTROL_PLANE_URL")
    List<URI> controlPlaneUrls;

    @Option(names = "--bind", defaultValue = "${env:FERRY_BIND:-127.0.0.1}",
            description = "Address to listen on. Env: FERRY_BIND (default ${DEFAULT-VALUE})")
    String bind;

    @Option(names = "--advertise-address", defaultValue = "${env:FERRY_ADVERTISE_ADDRESS}",
            description = "Address other hosts and the control plane use to reach this worker "
                    + "(default: the bind address). Env: FERRY_ADVERTISE_ADDRESS")
    String advertiseAddress;

    @Option(names = "--control-port", defaultValue = "${env:FERRY_CONTROL_PORT:-0}",
            description = "Control-channel port; 0 picks a free one. Env: FERRY_CONTROL_PORT")
    int controlPort;

    @Option(names = "--data-port", defaultValue = "${env:FERRY_DATA_PORT:-0}",
            description = "Data-plane port; 0 picks a free one. Env: FERRY_DATA_PORT")
    int dataPort;

    @Option(names = "--datastore", required = true, defaultValue = "${env:FERRY_DATASTORE}",
            description = "Folder holding disk images (shared between hosts for shared storage). Env: FERRY_DATASTORE")
    Path datastore;

    @Option(names = "--memory-capacity", defaultValue = "${env:FERRY_MEMORY_CAPACITY:-0}",
            description = "Bytes of guest memory this host offers; 0 means the machine's physical memory. "
                    + "Env: FERRY_MEMORY_CAPACITY")
    long memoryCapacity;

    @Option(names = "--heartbeat-interval-ms", defaultValue = "${env:FERRY_HEARTBEAT_INTERVAL_MS:-1000}",
            description = "Milliseconds between heartbeats. Env: FERRY_HEARTBEAT_INTERVAL_MS")
    long heartbeatIntervalMs;

    @Option(names = "--handoff-timeout-ms", defaultValue = "${env:FERRY_HANDOFF_TIMEOUT_MS:-60000}",
            description = "How long to wait for the control plane at a disk hand-off step before giving the "
                    + "decision back to the source. Env: FERRY_HANDOFF_TIMEOUT_MS")
    long handoffTimeoutMs;

    @Override
    public Integer call() throws Exception {
        String token = System.getenv("FERRY_WORKER_TOKEN");
        if (token == null || token.isBlank()) {
            System.err.println("FERRY_WORKER_TOKEN must be set (the control channel's shared secret)");
            return 2;
        }
        WorkerConfig config = new WorkerConfig(hostId, controlPlaneUrls, bind,
                advertiseAddress == null || advertiseAddress.isBlank() ? bind : advertiseAddress,
                controlPort, dataPort, datastore.toAbsolutePath(),
                memoryCapacity > 0 ? memoryCapacity : physicalMemory(),
                Runtime.getRuntime().availableProcessors(), Duration.ofMillis(heartbeatIntervalMs),
                Duration.ofMillis(handoffTimeoutMs), token);
        Worker worker = Worker.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            worker.close();
            stopped.countDown();
        }, "worker-shutdown"));
        stopped.await();
        return 0;
    }

    private static long physicalMemory() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
    }
}
