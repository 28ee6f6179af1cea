package io.ferry.worker;

import io.ferry.channel.ControlChannel;
import java.net.URI;
import java.util.List;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a worker needs to start; {@code controlPlaneUrls} are the control plane's
 * replicas (any of them takes reports and hand-off steps); {@code token} is the control channel's shared secret: the
 * bootstrap credential this worker registers with (see {@link ControlPlaneLink}) and the control plane's
 * credential on commands;
 * {@code handoffTimeout} bounds each wait for the control plane at a disk hand-off step;
 * {@code security} protects migration connections and the control channel (TLS when the worker
 * has certificates for them);
 * {@code qemuBinary} is the qemu-system-x86_64 QEMU guests run in, a path or a name looked up on PATH.
 */
public record WorkerConfig(String hostId, List<URI> controlPlaneUrls, String bind, String advertiseAddress,
                           int controlPort, int dataPort, Path datastore, long memoryCapacityBytes, int cpus,
                           Duration heartbeatInterval, Duration handoffTimeout, String token,
                           WorkerSecurity security, String qemuBinary) {

    public WorkerConfig(String hostId, List<URI> controlPlaneUrls, String bind, String advertiseAddress,
                        int controlPort, int dataPort, Path datastore, long memoryCapacityBytes, int cpus,
                        Duration heartbeatInterval, Duration handoffTimeout, String token, WorkerSecurity security) {
        this(hostId, controlPlaneUrls, bind, advertiseAddress, controlPort, dataPort, datastore, memoryCapacityBytes,
                cpus, heartbeatInterval, handoffTimeout, token, security, null);
    }

    /** The same worker with QEMU guests run by {@code binary}. */
    public WorkerConfig withQemuBinary(String binary) {
        return new WorkerConfig(hostId, controlPlaneUrls, bind, advertiseAddress, controlPort, dataPort, datastore,
                memoryCapacityBytes, cpus, heartbeatInterval, handoffTimeout, token, security, binary);
    }

    /** A worker with plain channels (the embedded loopback set-up). */
    public WorkerConfig(String hostId, List<URI> controlPlaneUrls, String bind, String advertiseAddress,
                        int controlPort, int dataPort, Path datastore, long memoryCapacityBytes, int cpus,
                        Duration heartbeatInterval, Duration handoffTimeout, String token) {
        this(hostId, controlPlaneUrls, bind, advertiseAddress, controlPort, dataPort, datastore, memoryCapacityBytes,
                cpus, heartbeatInterval, handoffTimeout, token, WorkerSecurity.plain());
    }

    public WorkerConfig {
        if (hostId == null || !hostId.matches(ControlChannel.HOST_ID_PATTERN)) {
            throw new IllegalArgumentException("host id '" + hostId + "' must be a lower-case DNS label");
        }
        if (controlPlaneUrls == null || controlPlaneUrls.isEmpty()) {
            throw new IllegalArgumentException("at least one control-plane URL is needed");
        }
        controlPlaneUrls = List.copyOf(controlPlaneUrls);
        if (security == null) {
            security = WorkerSecurity.plain();
        }
        if (qemuBinary == null || qemuBinary.isBlank()) {
            qemuBinary = io.ferry.guest.qemu.QemuSupport.DEFAULT_BINARY;
        }
        if (security.controlChannel() != null) {
            for (URI url : controlPlaneUrls) {
                if (!"https".equals(url.getScheme())) {
                    throw new IllegalArgumentException("with control-channel TLS every control-plane URL must be "
                            + "https, not " + url);
                }
            }
        }
        if (memoryCapacityBytes <= 0) {
            throw new IllegalArgumentException("memory capacity must be positive");
        }
    }
}
