package io.ferry.channel;

/**
 * Whether a worker can run guests of {@code runtime}, as it found when it started; {@code detail}
 * says what it found (a QEMU version and accelerator) or, when unavailable, what is missing.
 */
public record RuntimeAvailability(GuestRuntime runtime, boolean available, String detail) {
}
