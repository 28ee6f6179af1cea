package io.ferry.channel;

import java.util.List;

/** Worker → control plane, at start and whenever the control plane no longer knows it. */
public record WorkerRegistration(String workerInstance, String controlAddress, String dataAddress,
                                 long memoryCapacityBytes, int cpus, List<GuestReport> guests) {
}
