package io.ferry.worker;

import io.ferry.channel.ControlChannel;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a worker needs to start; {@code token} is the control channel's shared secret;
 * {@code handoffTimeout} bounds each wait for the control plane at a disk hand-off step.
 */
public record WorkerConfig(String hostId, URI controlPlaneUrl, String bind, String advertiseAddress,
                           int controlPort, int dataPort, Path datastore, long memoryCapacityBytes, int cpus,
                           Duration heartbeatInterval, Duration handoffTimeout, String token) {

    public WorkerConfig {
        if (hostId == null || !hostId.matches(ControlChannel.HOST_ID_PATTERN)) {
            throw new IllegalArgumentException("host id '" + hostId + "' must be a lower-case DNS label");
        }
        if (memoryCapacityBytes <= 0) {
            throw new IllegalArgumentException("memory capacity must be positive");
        }
    }
}
