package io.ferry.channel;

import java.util.UUID;

/** A disk and an ownership generation: the one a worker holds, expects, or was granted. */
public record DiskGeneration(UUID diskId, long generation) {
}
