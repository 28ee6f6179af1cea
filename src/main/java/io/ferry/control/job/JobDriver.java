package io.ferry.control.job;

import java.time.Instant;

/** The control-plane replica that drives a running job: its name, the lease's epoch and expiry. */
public record JobDriver(String replica, long epoch, Instant leaseExpiresAt) {
}
