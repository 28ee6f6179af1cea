package io.ferry.guest;

import java.util.Objects;

/**
 * One RAM block of a guest, like a QEMU {@code RAMBlock}: the name is its idstr ({@code pc.ram},
 * {@code vga.vram}), the key under which pages of this block travel on the wire.
 *
 * @param name 1..255 printable ASCII characters (QEMU's idstr is a 256-byte C string)
 * @param sizeBytes a positive multiple of {@link RamBlock#PAGE_SIZE}
 */
public record RamBlockSpec(String name, long sizeBytes) {

    static final int MAX_NAME_LENGTH = 255;

    public RamBlockSpec {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException(
                    "name must be 1.." + MAX_NAME_LENGTH + " characters, was " + name.length());
        }
        if (!name.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
            throw new IllegalArgumentException("name must be printable ASCII: '" + name + "'");
        }
        if (sizeBytes <= 0 || sizeBytes % RamBlock.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("sizeBytes of block '" + name
                    + "' must be a positive multiple of " + RamBlock.PAGE_SIZE + ", was " + sizeBytes);
        }
    }

    long pageCount() {
        return sizeBytes / RamBlock.PAGE_SIZE;
    }
}
