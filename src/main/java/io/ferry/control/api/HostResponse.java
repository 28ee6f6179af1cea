package io.ferry.control.api;

import io.ferry.control.host.Host;
import java.time.Instant;

record HostResponse(String id, String state, String controlAddress, String dataPlaneAddress, String datastoreId,
                    Capacity capacity, Instant registeredAt, Instant lastHeartbeatAt) {

    record Capacity(long memoryBytes, long allocatedMemoryBytes, long freeMemoryBytes, int cpus) {
    }

    static HostResponse of(Host host, long allocatedMemoryBytes) {
        return new HostResponse(host.id(), host.state().apiName(), host.controlAddress(), host.dataAddress(),
                host.datastoreId(), new Capacity(host.memoryCapacityBytes(), allocatedMemoryBytes,
                        Math.max(0, host.memoryCapacityBytes() - allocatedMemoryBytes), host.cpus()),
                host.registeredAt(), host.lastHeartbeatAt());
    }
}
