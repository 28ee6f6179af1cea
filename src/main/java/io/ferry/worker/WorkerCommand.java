package io.ferry.worker;

import io.ferry.channel.tls.TlsMaterial;
import io.ferry.migration.loopback.EngineWarmUp;
import io.ferry.migration.transport.DataPlaneSecurity;
import io.ferry.migration.transport.DataPlaneTls;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.List;
import java.util.Set;
import io.netty.handler.ssl.util.KeyManagerFactoryWrapper;
import io.netty.handler.ssl.util.TrustManagerFactoryWrapper;
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

    /** The warm-up's guests live for a second; more than this is a mistake, not a warmer engine. */
    static final int MAX_WARM_UP_MIB = 1024;
    /** A guest's smallest memory. */
    static final int MIN_WARM_UP_MIB = 16;

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

    @Option(names = "--data-tls-cert", defaultValue = "${env:FERRY_DATA_TLS_CERT}",
            description = "PEM certificate (chain) this worker presents on migration connections; with "
                    + "--data-tls-key and --data-tls-ca every migration connection runs TLS 1.3 with mutual "
                    + "authentication, and plain peers are refused. Env: FERRY_DATA_TLS_CERT")
    Path dataTlsCert;

    @Option(names = "--data-tls-key", defaultValue = "${env:FERRY_DATA_TLS_KEY}",
            description = "PEM private key of --data-tls-cert (PKCS#8, or PKCS#1/SEC1). Env: FERRY_DATA_TLS_KEY")
    Path dataTlsKey;

    @Option(names = "--data-tls-ca", defaultValue = "${env:FERRY_DATA_TLS_CA}",
            description = "PEM certificate(s) of the CA that peer workers' certificates must chain to. "
                    + "Env: FERRY_DATA_TLS_CA")
    Path dataTlsCa;

    @Option(names = "--data-tls-provider", defaultValue = "${env:FERRY_DATA_TLS_PROVIDER:-auto}",
            description = "TLS implementation: auto (OpenSSL/BoringSSL when it loads, else the JDK's), openssl "
                    + "or jdk. Env: FERRY_DATA_TLS_PROVIDER (default ${DEFAULT-VALUE})")
    String dataTlsProvider;

    @Option(names = "--data-handshake-timeout-ms", defaultValue = "${env:FERRY_DATA_HANDSHAKE_TIMEOUT_MS:-5000}",
            description = "A data-plane connection that has not completed its handshakes (TLS and the job's) "
                    + "within this many milliseconds is closed. Env: FERRY_DATA_HANDSHAKE_TIMEOUT_MS "
                    + "(default ${DEFAULT-VALUE})")
    long dataHandshakeTimeoutMs;

    @Option(names = "--control-tls-cert", defaultValue = "${env:FERRY_CONTROL_TLS_CERT}",
            description = "PEM certificate this worker's control port serves; with --control-tls-key and "
                    + "--control-tls-ca the control port speaks HTTPS only, takes commands only from a client "
                    + "certificate naming the control plane (--control-tls-peer-names), and this worker trusts "
                    + "only such a certificate when it calls the control plane (https URLs). "
                    + "Env: FERRY_CONTROL_TLS_CERT")
    Path controlTlsCert;

    @Option(names = "--control-tls-key", defaultValue = "${env:FERRY_CONTROL_TLS_KEY}",
            description = "PEM private key of --control-tls-cert. Env: FERRY_CONTROL_TLS_KEY")
    Path controlTlsKey;

    @Option(names = "--control-tls-ca", defaultValue = "${env:FERRY_CONTROL_TLS_CA}",
            description = "PEM certificate(s) of the CA the control plane's certificate chains to. "
                    + "Env: FERRY_CONTROL_TLS_CA")
    Path controlTlsCa;

    @Option(names = "--control-tls-peer-names", split = ",",
            defaultValue = "${env:FERRY_CONTROL_TLS_PEER_NAMES:-" + ControlChannelTls.DEFAULT_CONTROL_PLANE_NAME + "}",
            description = "Names (certificate CN or DNS name) the control plane's certificate must carry. "
                    + "Env: FERRY_CONTROL_TLS_PEER_NAMES (default ${DEFAULT-VALUE})")
    List<String> controlTlsPeerNames;

    @Option(names = "--tls-reload-interval-ms", defaultValue = "${env:FERRY_TLS_RELOAD_INTERVAL_MS:-30000}",
            description = "How often certificate files are looked at for a rotation (cert-manager renews them "
                    + "in place); the next handshake uses the new one. Env: FERRY_TLS_RELOAD_INTERVAL_MS "
                    + "(default ${DEFAULT-VALUE})")
    long tlsReloadIntervalMs;

    @Option(names = "--allow-plain-data-plane", defaultValue = "${env:FERRY_ALLOW_PLAIN_DATA_PLANE:-false}",
            description = "Run the data plane without TLS although this worker listens beyond loopback: guest "
                    + "memory then crosses the network in clear. Without it such a worker refuses to start "
                    + "without --data-tls-*. Env: FERRY_ALLOW_PLAIN_DATA_PLANE")
    boolean allowPlainDataPlane;

    @Option(names = "--qemu-binary",
            defaultValue = "${env:FERRY_QEMU_BINARY:-" + io.ferry.guest.qemu.QemuSupport.DEFAULT_BINARY + "}",
            description = "The qemu-system-x86_64 that runs QEMU guests: a path, or a name looked up on PATH. A "
                    + "worker whose QEMU does not answer --version (or without qemu-img beside it or on PATH) "
                    + "reports the qemu runtime unavailable, with why. Env: FERRY_QEMU_BINARY "
                    + "(default ${DEFAULT-VALUE})")
    String qemuBinary;

    @Option(names = "--warm-up-mib", defaultValue = "${env:FERRY_WARM_UP_MIB:-" + EngineWarmUp.DEFAULT_MIB + "}",
            description = "Before registering, migrate a throw-away guest of this many MiB to itself, so the "
                    + "engine is compiled before the first real migration instead of during it; 0 skips it. "
                    + "Env: FERRY_WARM_UP_MIB (default ${DEFAULT-VALUE})")
    int warmUpMib;

    /**
     * TLS when all three files are given, plain when none is; anything in between is a mistake,
     * and so is plain on an address beyond loopback unless asked for.
     */
    DataPlaneSecurity dataPlaneSecurity() {
        Duration timeout = Duration.ofMillis(dataHandshakeTimeoutMs);
        TlsMaterial material = material("data-plane", new Path[] {dataTlsCert, dataTlsKey, dataTlsCa},
                "--data-tls-cert, --data-tls-key and --data-tls-ca (FERRY_DATA_TLS_CERT, FERRY_DATA_TLS_KEY, "
                        + "FERRY_DATA_TLS_CA)");
        if (material == null) {
            if (!allowPlainDataPlane && !loopback(bind)) {
                throw new IllegalArgumentException("this worker listens on " + bind + ", beyond loopback, and has no "
                        + "data-plane certificates: guest memory would cross the network in clear. Give "
                        + "--data-tls-cert, --data-tls-key and --data-tls-ca, or --allow-plain-data-plane "
                        + "(FERRY_ALLOW_PLAIN_DATA_PLANE=true) to accept that");
            }
            return new DataPlaneSecurity(null, timeout);
        }
        // through key and trust managers, so a rotated certificate serves the next connection
        return new DataPlaneSecurity(DataPlaneTls.of(new KeyManagerFactoryWrapper(material.keyManager()),
                new TrustManagerFactoryWrapper(material.trustManager(Set.of())),
                DataPlaneTls.Provider.parse(dataTlsProvider)), timeout);
    }

    /** The warm-up guest's size; 0 for none. */
    long warmUpBytes() {
        if (warmUpMib != 0 && (warmUpMib < MIN_WARM_UP_MIB || warmUpMib > MAX_WARM_UP_MIB)) {
            throw new IllegalArgumentException("--warm-up-mib (FERRY_WARM_UP_MIB) must be 0 (none) or between "
                    + MIN_WARM_UP_MIB + " and " + MAX_WARM_UP_MIB + " (a guest's smallest and a sensible largest "
                    + "size), not " + warmUpMib);
        }
        return warmUpMib * (1L << 20);
    }

    /** Control-channel TLS when all three files are given, plain when none is. */
    ControlChannelTls controlChannelTls() {
        TlsMaterial material = material("control-channel", new Path[] {controlTlsCert, controlTlsKey, controlTlsCa},
                "--control-tls-cert, --control-tls-key and --control-tls-ca (FERRY_CONTROL_TLS_CERT, "
                        + "FERRY_CONTROL_TLS_KEY, FERRY_CONTROL_TLS_CA)");
        if (material == null) {
            return null;
        }
        Set<String> names = new java.util.LinkedHashSet<>();
        for (String name : controlTlsPeerNames) {
            if (!name.isBlank()) {
                names.add(name.strip());
            }
        }
        return new ControlChannelTls(material, names);
    }

    private static boolean loopback(String address) {
        try {
            return java.net.InetAddress.getByName(address).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;   // unknown here: the bind fails later with its own message
        }
    }

    private TlsMaterial material(String what, Path[] files, String allOf) {
        int given = 0;
        for (int i = 0; i < files.length; i++) {
            files[i] = blankToNull(files[i]);
            given += files[i] != null ? 1 : 0;
        }
        if (given == 0) {
            return null;
        }
        if (given < files.length) {
            throw new IllegalArgumentException(what + " TLS needs all of " + allOf);
        }
        if (tlsReloadIntervalMs <= 0) {
            throw new IllegalArgumentException("--tls-reload-interval-ms must be positive");
        }
        return TlsMaterial.fromPem(files[0], files[1], files[2], Duration.ofMillis(tlsReloadIntervalMs));
    }

    private static Path blankToNull(Path path) {
        return path == null || path.toString().isBlank() ? null : path;
    }

    @Override
    public Integer call() throws Exception {
        String token = System.getenv("FERRY_WORKER_TOKEN");
        if (token == null || token.isBlank()) {
            System.err.println("FERRY_WORKER_TOKEN must be set (the control channel's shared secret)");
            return 2;
        }
        WorkerConfig config;
        long warmUpBytes;
        try {
            WorkerSecurity security = new WorkerSecurity(dataPlaneSecurity(), controlChannelTls());
            config = new WorkerConfig(hostId, controlPlaneUrls, bind,
                    advertiseAddress == null || advertiseAddress.isBlank() ? bind : advertiseAddress,
                    controlPort, dataPort, datastore.toAbsolutePath(),
                    memoryCapacity > 0 ? memoryCapacity : physicalMemory(),
                    Runtime.getRuntime().availableProcessors(), Duration.ofMillis(heartbeatIntervalMs),
                    Duration.ofMillis(handoffTimeoutMs), token, security, qemuBinary);
            warmUpBytes = warmUpBytes();
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        if (warmUpBytes > 0) {
            // before registering: the control plane sends no migration to a worker that is still cold
            EngineWarmUp.run(Path.of(System.getProperty("java.io.tmpdir")), warmUpBytes,
                    config.security().dataPlane());
        }
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
