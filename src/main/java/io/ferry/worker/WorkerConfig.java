package io.ferry.worker;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/** Everything a worker needs to start; {@code token} is the control channel's shared secret. */
public record WorkerConfig(String hostId, URI controlPlaneUrl, String bind, String advertiseAddress,
                           int controlPort, int dataPort, Path datastore, long memoryCapacityBytes, int cpus,
                           Duration heartbeatInterval, String token) {

    private static final String HOST_ID = "[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?";

    public WorkerConfig {
        if (hostId == null || !hostId.matches(HOST_ID)) {
            throw new IllegalArgumentException("host id '" + hostId + "' must be a lower-case DNS label");
        }
        if (memoryCapacityBytes <= 0) {
            throw new IllegalArgumentException("memory capacity must be positive");
        }
    }
}
