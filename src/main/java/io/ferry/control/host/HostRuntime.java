package io.ferry.control.host;

/**
 * A guest runtime as a host's worker reported it at registration: whether it can run it, and
 * what it found (a QEMU version and accelerator) or what is missing.
 *
 * @param runtime the runtime's API name ({@code synthetic}, {@code qemu})
 */
public record HostRuntime(String runtime, boolean available, String detail) {
}
