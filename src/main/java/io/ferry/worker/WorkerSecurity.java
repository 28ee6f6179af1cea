package io.ferry.worker;

import io.ferry.migration.transport.DataPlaneSecurity;
import java.util.Objects;

/**
 * How a worker protects its two channels: migration connections ({@code dataPlane}) and its
 * control channel ({@code controlChannel}: null for plain HTTP with the shared token only, as in
 * the embedded loopback set-up).
 */
public record WorkerSecurity(DataPlaneSecurity dataPlane, ControlChannelTls controlChannel) {

    public WorkerSecurity {
        Objects.requireNonNull(dataPlane, "dataPlane");
    }

    /** Plain on both channels: the embedded set-up on loopback. */
    public static WorkerSecurity plain() {
        return new WorkerSecurity(DataPlaneSecurity.plain(), null);
    }

    public static WorkerSecurity dataPlaneOnly(DataPlaneSecurity dataPlane) {
        return new WorkerSecurity(dataPlane, null);
    }

    @Override
    public String toString() {
        return "data plane " + dataPlane + "; control channel " + (controlChannel == null ? "plain" : controlChannel);
    }
}
