package io.ferry.channel;

import java.util.List;

/**
 * Worker → control plane, at start and whenever the control plane no longer knows it.
 * {@code datastoreId} names the storage its images live on: hosts with the same id share it.
 * {@code runtimes}: which guest runtimes it can run, and why not (null from a worker that
 * predates runtimes: synthetic only).
 */
public record WorkerRegistration(String workerInstance, String controlAddress, String dataAddress,
                                 long memoryCapacityBytes, int cpus, String datastoreId, List<GuestReport> guests,
                                 List<RuntimeAvailability> runtimes) {

    public WorkerRegistration {
        runtimes = runtimes == null
                ? List.of(new RuntimeAvailability(GuestRuntime.SYNTHETIC, true, "built in"))
                : List.copyOf(runtimes);
    }

    public WorkerRegistration(String workerInstance, String controlAddress, String dataAddress,
                              long memoryCapacityBytes, int cpus, String datastoreId, List<GuestReport> guests) {
        this(workerInstance, controlAddress, dataAddress, memoryCapacityBytes, cpus, datastoreId, guests, null);
    }
}
