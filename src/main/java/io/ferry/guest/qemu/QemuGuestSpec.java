package io.ferry.guest.qemu;

import io.ferry.guest.DiskSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a QEMU guest is made of: a {@code pc} machine with {@code memoryBytes} of RAM and one
 * virtio disk per {@link DiskSpec}, each an image {@code <diskId>.<format>} in the datastore.
 * Invalid specs fail with an {@link IllegalArgumentException} naming the field.
 *
 * @param guestId as for synthetic guests: 1..64 of {@code [A-Za-z0-9._-]}, letter or digit first
 * @param memoryBytes whole MiB (QEMU's {@code -m} unit), 16 MiB..64 GiB
 * @param disks possibly none, ids unique
 * @param format the images' format
 */
public record QemuGuestSpec(String guestId, long memoryBytes, List<DiskSpec> disks, ImageFormat format) {

    static final long MIB = 1L << 20;
    static final long MIN_MEMORY_BYTES = 16 * MIB;
    static final long MAX_MEMORY_BYTES = 64L << 30;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** The formats QEMU reads the images in; qcow2 allocates as the guest writes. */
    public enum ImageFormat {
        QCOW2("qcow2"), RAW("raw");

        private final String qemuName;

        ImageFormat(String qemuName) {
            this.qemuName = qemuName;
        }

        /** QEMU's and qemu-img's name, also the image file's extension. */
        public String qemuName() {
            return qemuName;
        }
    }

    public QemuGuestSpec {
        if (guestId == null || !ID.matcher(guestId).matches()) {
            throw new IllegalArgumentException("guestId must match " + ID.pattern() + ", was " + guestId);
        }
        if (memoryBytes < MIN_MEMORY_BYTES || memoryBytes > MAX_MEMORY_BYTES || memoryBytes % MIB != 0) {
            throw new IllegalArgumentException("memoryBytes of a QEMU guest must be whole MiB, 16 MiB..64 GiB, was "
                    + memoryBytes);
        }
        Objects.requireNonNull(disks, "disks");
        disks = List.copyOf(disks);
        Set<String> ids = new HashSet<>();
        for (DiskSpec disk : disks) {
            if (!ids.add(disk.diskId())) {
                throw new IllegalArgumentException("disks: duplicate disk id '" + disk.diskId() + "'");
            }
        }
        Objects.requireNonNull(format, "format");
    }

    /** The image file of {@code disk}, relative to the datastore. */
    String imageFileName(DiskSpec disk) {
        return disk.diskId() + "." + format.qemuName();
    }
}
