package io.ferry.migration.transport;

import java.time.Duration;
import java.util.Objects;

/**
 * How a worker's data-plane connections are protected: {@code tls} null for plain TCP (the
 * embedded loopback set-up), and how long a connection may take to complete its handshakes
 * (TLS and Ferry's) before the destination closes it.
 */
public record DataPlaneSecurity(DataPlaneTls tls, Duration handshakeTimeout) {

    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

    public DataPlaneSecurity {
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("the data-plane handshake timeout must be positive");
        }
    }

    public static DataPlaneSecurity plain() {
        return new DataPlaneSecurity(null, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    public static DataPlaneSecurity tls(DataPlaneTls tls) {
        return new DataPlaneSecurity(Objects.requireNonNull(tls, "tls"), DEFAULT_HANDSHAKE_TIMEOUT);
    }

    public boolean encrypted() {
        return tls != null;
    }

    long handshakeTimeoutMs() {
        return handshakeTimeout.toMillis();
    }

    @Override
    public String toString() {
        return (tls == null ? "plain" : tls.toString()) + ", handshake timeout " + handshakeTimeout.toMillis() + " ms";
    }
}
