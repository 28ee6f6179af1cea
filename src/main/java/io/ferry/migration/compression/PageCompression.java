package io.ferry.migration.compression;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.wire.MultifdCompression;
import io.ferry.wire.PageDecompressor;

/**
 * The compressors and decompressors of multifd packets, by the job's
 * {@link ConvergenceSettings.Compression}: zstd (zstd-jni, as QEMU's multifd-zstd) and lz4
 * (lz4-java, Ferry's own). A fresh instance for each channel (destination) or sender (source).
 */
public final class PageCompression {

    private PageCompression() {
    }

    /** The flag that names {@code method} on the wire. */
    public static MultifdCompression onWire(CompressionMethod method) {
        return switch (method) {
            case NONE -> MultifdCompression.NONE;
            case ZSTD -> MultifdCompression.ZSTD;
            case LZ4 -> MultifdCompression.LZ4;
        };
    }

    /**
     * A compressor at the settings' level.
     *
     * @throws IllegalArgumentException for {@link CompressionMethod#NONE}
     */
    public static PageCompressor compressor(ConvergenceSettings.Compression settings) {
        return switch (settings.method()) {
            case NONE -> throw new IllegalArgumentException("no compressor for method none");
            case ZSTD -> new ZstdPages.Compressor(settings.level());
            case LZ4 -> Lz4Pages.compressor(settings.level());
        };
    }

    /**
     * A decompressor of {@code method}'s packets.
     *
     * @throws IllegalArgumentException for {@link CompressionMethod#NONE}
     */
    public static PageDecompressor decompressor(CompressionMethod method) {
        return switch (method) {
            case NONE -> throw new IllegalArgumentException("no decompressor for method none");
            case ZSTD -> new ZstdPages.Decompressor();
            case LZ4 -> new Lz4Pages.Decompressor();
        };
    }
}
