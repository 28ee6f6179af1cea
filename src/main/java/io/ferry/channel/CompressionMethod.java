package io.ferry.channel;

import java.util.Arrays;

/**
 * How multifd packets' pages are compressed on the channels (QEMU's {@code multifd-compression};
 * lz4 is Ferry's own, QEMU has zlib, zstd and hardware methods instead).
 */
public enum CompressionMethod {
    NONE("none", 0, 0, 0),
    /** zstd-jni; levels as zstd's (QEMU's multifd-zstd-level, default 1). */
    ZSTD("zstd", 1, 1, 19),
    /** lz4-java; level 1 is LZ4's fast compressor, 2..17 its high-compression one at that level. */
    LZ4("lz4", 1, 1, 17);

    private final String apiName;
    private final int defaultLevel;
    private final int minLevel;
    private final int maxLevel;

    CompressionMethod(String apiName, int defaultLevel, int minLevel, int maxLevel) {
        this.apiName = apiName;
        this.defaultLevel = defaultLevel;
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
    }

    public String apiName() {
        return apiName;
    }

    public int defaultLevel() {
        return defaultLevel;
    }

    public int minLevel() {
        return minLevel;
    }

    public int maxLevel() {
        return maxLevel;
    }

    public static CompressionMethod fromApiName(String name) {
        return Arrays.stream(values()).filter(m -> m.apiName.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown compression method '" + name
                        + "' (none, zstd or lz4)"));
    }
}
