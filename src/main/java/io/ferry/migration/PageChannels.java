package io.ferry.migration;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.MigrationSettings;
import java.util.Objects;

/**
 * How a job's pages travel, as both sides must agree: on the main stream, or on {@code count}
 * multifd channels beside it, compressed with {@code compression} or plain. Compression exists
 * only on multifd channels, so a compressed job of one channel still opens one (QEMU's rule:
 * multifd-compression needs the multifd capability).
 */
public record PageChannels(int count, CompressionMethod compression) {

    /** The main stream alone. */
    public static final PageChannels MAIN_STREAM = new PageChannels(1, CompressionMethod.NONE);

    public PageChannels {
        Objects.requireNonNull(compression, "compression");
        if (count < 1) {
            throw new IllegalArgumentException("a job has at least one channel, got " + count);
        }
    }

    /**
     * The source's choice for {@code settings}. A job that may post-copy uses its multifd channels
     * for the pre-copy rounds only, as QEMU from 10.0: its post-copy pages (requests, the push, a
     * recovery's resend) travel on the main stream and the preempt channel.
     *
     * @throws IllegalArgumentException for post-copy with compression, which the control plane
     *                                  refuses (its pages could not be compressed)
     */
    public static PageChannels of(MigrationSettings settings) {
        CompressionMethod compression = settings.convergence().compression().method();
        if (settings.postcopy().enabled() && compression != CompressionMethod.NONE) {
            throw new IllegalArgumentException("post-copy and multifd compression (" + compression.apiName()
                    + ") exclude each other");
        }
        return new PageChannels(Math.max(1, settings.channels()), compression);
    }

    /** Whether pages travel on multifd channels. */
    public boolean multifd() {
        return count > 1 || compression != CompressionMethod.NONE;
    }
}
