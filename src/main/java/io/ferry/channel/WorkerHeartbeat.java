package io.ferry.channel;

import java.util.List;

/** Worker → control plane, every heartbeat interval, with the guests the worker holds. */
public record WorkerHeartbeat(String workerInstance, List<GuestReport> guests) {
}
