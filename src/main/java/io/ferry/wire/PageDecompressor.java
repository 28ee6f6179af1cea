package io.ferry.wire;

import java.nio.ByteBuffer;

/**
 * Turns one compressed multifd payload back into its pages, for a {@link MultifdDecoder} (which
 * checks the size that comes out). Implementations wrap a library and live outside the codec; one
 * instance per channel, used by that channel's thread only (a zstd context is not thread-safe).
 */
public interface PageDecompressor extends AutoCloseable {

    /** The method this instance reads. */
    MultifdCompression method();

    /**
     * Decompresses {@code src}'s remaining bytes into {@code dst} from its position, writing at
     * most its remaining bytes; moves neither buffer's position.
     *
     * @return the bytes written
     * @throws RuntimeException (any) when the data is malformed or would not fit
     */
    int decompress(ByteBuffer src, ByteBuffer dst);

    /** Frees native memory; the instance is unusable afterwards. */
    @Override
    void close();
}
