package io.ferry.channel;

import java.util.UUID;

/** A disk image of a guest and the ownership generation under which the worker may write it. */
public record DiskLayout(UUID diskId, String name, long sizeBytes, long generation) {
}
