package io.ferry.control.api;

import io.ferry.control.drain.DrainGuest;
import io.ferry.control.drain.DrainGuestState;
import io.ferry.control.drain.DrainService;
import io.ferry.control.host.Host;
import io.ferry.control.job.MigrationJob;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * A host as the API shows it: reachability and addresses, memory (guests on it and guests
 * coming in), labels, whether it is cordoned, its admission limits and the jobs using them, and
 * its latest drain.
 */
record HostResponse(String id, String state, String controlAddress, String dataPlaneAddress, String datastoreId,
                    Capacity capacity, List<RuntimeView> runtimes, Map<String, String> labels, boolean cordoned,
                    Limits limits, Jobs jobs, DrainView drain, Instant registeredAt, Instant lastHeartbeatAt) {

    /** A guest runtime as the host's worker reported it: can it run it, and what it found or what is missing. */
    record RuntimeView(String runtime, boolean available, String detail) {
    }

    record Capacity(long memoryBytes, long allocatedMemoryBytes, long incomingMemoryBytes, long freeMemoryBytes,
                    int cpus) {
    }

    record Limits(int maxOutbound, int maxInbound) {
    }

    record Jobs(int outbound, int inbound) {
    }

    record DrainGuestView(UUID guestId, String state, int attempts, UUID jobId, Instant nextAttemptAt, String cause) {
    }

    /** A drain's progress: guests left to settle, its jobs by status, and the guests it could not move, with why. */
    record DrainView(UUID id, String state, String requestedBy, Map<String, String> destinationSelector,
                     int maxAttempts, int guests, int guestsLeft, Map<String, Integer> jobsByStatus,
                     List<DrainGuestView> unplaceable, List<DrainGuestView> failed, List<DrainGuestView> guestStates,
                     Instant startedAt, Instant finishedAt) {

        static DrainView of(DrainService.DrainView v) {
            Map<String, Integer> byStatus = new TreeMap<>();
            for (MigrationJob j : v.jobs()) {
                byStatus.merge(j.status().apiName(), 1, Integer::sum);
            }
            List<DrainGuestView> all = v.guests().stream().map(DrainView::guest).toList();
            return new DrainView(v.drain().id(), v.drain().state().apiName(), v.drain().requestedBy(),
                    v.drain().destinationSelector(), v.drain().maxAttempts(), all.size(),
                    (int) v.guests().stream().filter(g -> !g.state().isSettled()).count(), byStatus,
                    all.stream().filter(g -> g.state().equals(DrainGuestState.UNPLACEABLE.apiName())).toList(),
                    all.stream().filter(g -> g.state().equals(DrainGuestState.FAILED.apiName())).toList(),
                    all, v.drain().startedAt(), v.drain().finishedAt());
        }

        private static DrainGuestView guest(DrainGuest g) {
            return new DrainGuestView(g.guestId(), g.state().apiName(), g.attempts(), g.jobId(), g.nextAttemptAt(),
                    g.cause());
        }
    }

    static HostResponse of(Host host, long allocatedMemoryBytes, long incomingMemoryBytes, Limits limits, Jobs jobs,
                           DrainView drain) {
        return new HostResponse(host.id(), host.state().apiName(), host.controlAddress(), host.dataAddress(),
                host.datastoreId(), new Capacity(host.memoryCapacityBytes(), allocatedMemoryBytes, incomingMemoryBytes,
                        Math.max(0, host.memoryCapacityBytes() - allocatedMemoryBytes - incomingMemoryBytes),
                        host.cpus()),
                host.runtimes().stream().map(r -> new RuntimeView(r.runtime(), r.available(), r.detail())).toList(),
                new TreeMap<>(host.labels()), host.isCordoned(), limits, jobs, drain, host.registeredAt(),
                host.lastHeartbeatAt());
    }
}
