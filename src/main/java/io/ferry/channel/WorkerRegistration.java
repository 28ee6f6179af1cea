package io.ferry.channel;

import java.util.List;

/**
 * Worker → control plane, at start and whenever the control plane no longer knows it.
 * {@code datastoreId} names the storage its images live on: hosts with the same id share it.
 */
public record WorkerRegistration(String workerInstance, String controlAddress, String dataAddress,
                                 long memoryCapacityBytes, int cpus, String datastoreId, List<GuestReport> guests) {
}
