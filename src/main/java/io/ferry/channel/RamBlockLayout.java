package io.ferry.channel;

/** One RAM block of a guest, as QEMU names them (e.g. {@code pc.ram}). */
public record RamBlockLayout(String name, long sizeBytes) {
}
