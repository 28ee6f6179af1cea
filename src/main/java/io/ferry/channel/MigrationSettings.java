package io.ferry.channel;

import java.util.Objects;

/**
 * How a job moves its guest, as the control plane resolved it and as the source's engine runs
 * it (one record for both): {@code maxBandwidth} bytes/s (0 unlimited), the pause's limit
 * {@code downtimeLimitMs}, whether the two sides compare digests at the switchover
 * ({@code verifyChecksums}), how disks move ({@code storage}), the post-copy capability, and how many
 * connections carry pages ({@code channels}: 1 is the main stream alone; more add QEMU's multifd
 * data channels beside it), and the tools that help a busy guest converge ({@code convergence}).
 */
public record MigrationSettings(long maxBandwidth, long downtimeLimitMs, boolean verifyChecksums, StorageMode storage,
                                PostcopySettings postcopy, int channels, ConvergenceSettings convergence) {

    /** QEMU's multifd-channels range, as the API bounds it. */
    public static final int MAX_CHANNELS = 16;

    public MigrationSettings {
        Objects.requireNonNull(storage, "storage");
        Objects.requireNonNull(postcopy, "postcopy");
        Objects.requireNonNull(convergence, "convergence");
        if (maxBandwidth < 0 || downtimeLimitMs < 0) {
            throw new IllegalArgumentException("bandwidth and downtime limit cannot be negative");
        }
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw new IllegalArgumentException("channels must be 1.." + MAX_CHANNELS + ", was " + channels);
        }
    }

    /** Images are streamed too. */
    public boolean copyImages() {
        return storage == StorageMode.COPY;
    }

    /**
     * The post-copy capability: {@code enabled} lets an operator (or the engine) switch; with
     * {@code afterIterations} > 0 the switch happens by itself once that many pre-copy rounds did
     * not converge; with {@code whenNotConverging} once a round (the second or later) left no less
     * to send than the round before. {@code maxBandwidth} holds back the background push (bytes/s,
     * 0 unlimited; requested pages never wait for it).
     */
    public record PostcopySettings(boolean enabled, int afterIterations, boolean whenNotConverging, long maxBandwidth) {

        public static final PostcopySettings OFF = new PostcopySettings(false, 0, false, 0);

        public PostcopySettings {
            if (afterIterations < 0 || maxBandwidth < 0) {
                throw new IllegalArgumentException("post-copy rounds and bandwidth cannot be negative");
            }
        }

        /** Switchable, by itself after {@code afterIterations} rounds (0: only on request), push unlimited. */
        public static PostcopySettings after(int afterIterations) {
            return new PostcopySettings(true, afterIterations, false, 0);
        }
    }
}
