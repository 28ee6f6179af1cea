package io.ferry.guest;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One virtual disk of a guest, backed by a raw image file {@code <diskId>.img} in the datastore.
 *
 * @param diskId stable identity, also the image file name: 1..64 of {@code [A-Za-z0-9._-]},
 *     starting with a letter or digit (so it can never name another directory)
 * @param name a human label, like a QEMU drive's device name ({@code virtio-disk0}); 1..255 characters
 * @param sizeBytes a positive multiple of {@link DiskImage#BLOCK_SIZE}
 */
public record DiskSpec(String diskId, String name, long sizeBytes) {

    static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    public DiskSpec {
        Objects.requireNonNull(diskId, "diskId");
        Objects.requireNonNull(name, "name");
        if (!ID.matcher(diskId).matches()) {
            throw new IllegalArgumentException("diskId must match " + ID.pattern() + ", was '" + diskId + "'");
        }
        if (name.isBlank() || name.length() > 255) {
            throw new IllegalArgumentException("name of disk '" + diskId + "' must be 1..255 characters, not blank");
        }
        if (sizeBytes <= 0 || sizeBytes % DiskImage.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("sizeBytes of disk '" + diskId
                    + "' must be a positive multiple of " + DiskImage.BLOCK_SIZE + ", was " + sizeBytes);
        }
    }

    /** The image file of this disk in a datastore. */
    public String imageFileName() {
        return diskId + ".img";
    }
}
