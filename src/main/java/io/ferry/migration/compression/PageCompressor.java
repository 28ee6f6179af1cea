package io.ferry.migration.compression;

import io.ferry.wire.MultifdCompression;
import java.nio.ByteBuffer;

/**
 * Compresses one multifd packet's normal pages into one stream (the source's half of a
 * {@link MultifdCompression}). One instance per sender, used by one thread at a time (a zstd
 * context is not thread-safe); {@link #close} frees its native memory.
 */
public interface PageCompressor extends AutoCloseable {

    MultifdCompression method();

    /**
     * Compresses {@code src}'s remaining bytes into {@code dst} from its position; moves neither
     * buffer's position. {@code dst} has room for {@link MultifdCompression#maxCompressedSize} of
     * the input, so this never fails for want of room.
     *
     * @return the compressed size
     */
    int compress(ByteBuffer src, ByteBuffer dst);

    @Override
    void close();
}
