package io.ferry.migration.compression;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import io.ferry.wire.MultifdCompression;
import io.ferry.wire.PageDecompressor;
import java.nio.ByteBuffer;

/**
 * zstd, as QEMU's multifd-zstd: one frame per packet. QEMU streams its pages into the frame
 * (no content size in the frame header); Ferry compresses the gathered pages in one call, which
 * writes the same format with the content size, and reads frames of either kind. One context per
 * instance, reused for every packet: contexts are costly to create and not thread-safe.
 */
final class ZstdPages {

    private ZstdPages() {
    }

    static final class Compressor implements PageCompressor {

        private final ZstdCompressCtx context = new ZstdCompressCtx();

        Compressor(int level) {
            context.setLevel(level);
        }

        @Override
        public MultifdCompression method() {
            return MultifdCompression.ZSTD;
        }

        @Override
        public int compress(ByteBuffer src, ByteBuffer dst) {
            return context.compressDirectByteBuffer(dst, dst.position(), dst.remaining(), src, src.position(),
                    src.remaining());
        }

        @Override
        public void close() {
            context.close();
        }
    }

    static final class Decompressor implements PageDecompressor {

        private final ZstdDecompressCtx context = new ZstdDecompressCtx();

        @Override
        public MultifdCompression method() {
            return MultifdCompression.ZSTD;
        }

        /** Throws {@link com.github.luben.zstd.ZstdException} for a malformed frame or one too large for {@code dst}. */
        @Override
        public int decompress(ByteBuffer src, ByteBuffer dst) {
            return context.decompressDirectByteBuffer(dst, dst.position(), dst.remaining(), src, src.position(),
                    src.remaining());
        }

        @Override
        public void close() {
            context.close();
        }
    }
}
