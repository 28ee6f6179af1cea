package io.ferry.migration.compression;

import io.ferry.wire.MultifdCompression;
import io.ferry.wire.PageDecompressor;
import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LZ4, Ferry's own method: one raw LZ4 block per packet (no frame, no checksum: the decoder knows
 * the size the block must come to, and TCP or TLS guard the bytes). Level 1 is LZ4's fast
 * compressor, 2..17 LZ4 HC at that level. lz4-java's instances hold no state, so these wrappers
 * have nothing to free; they exist so both methods are used alike.
 */
final class Lz4Pages {

    private static final Logger log = LoggerFactory.getLogger(Lz4Pages.class);

    /**
     * The JNI build where it loads, else lz4-java's pure-Java one. Not {@code fastestInstance()}:
     * it tries JNI only when lz4-java sits on the system class loader, which in the Boot jar it
     * does not, so it gave the pure-Java safe build (2.5 times the CPU for the fast compressor,
     * 10 times for the safe decompressor).
     */
    private static final LZ4Factory FACTORY = factory();

    private Lz4Pages() {
    }

    private static LZ4Factory factory() {
        try {
            return LZ4Factory.nativeInstance();
        } catch (Throwable e) {   // no native library for this platform, or it failed to load
            log.warn("lz4: native library unavailable ({}); using the pure-Java build, several times slower", e.toString());
            return LZ4Factory.safeInstance();
        }
    }

    static PageCompressor compressor(int level) {
        return new Compressor(level == 1 ? FACTORY.fastCompressor() : FACTORY.highCompressor(level));
    }

    private record Compressor(LZ4Compressor lz4) implements PageCompressor {

        @Override
        public MultifdCompression method() {
            return MultifdCompression.LZ4;
        }

        @Override
        public int compress(ByteBuffer src, ByteBuffer dst) {
            return lz4.compress(src, src.position(), src.remaining(), dst, dst.position(), dst.remaining());
        }

        @Override
        public void close() {
            // stateless
        }
    }

    static final class Decompressor implements PageDecompressor {

        /** The safe one: it never reads or writes outside the buffers, whatever the input. */
        private final LZ4SafeDecompressor lz4 = FACTORY.safeDecompressor();

        @Override
        public MultifdCompression method() {
            return MultifdCompression.LZ4;
        }

        /** Throws {@link net.jpountz.lz4.LZ4Exception} for a malformed block or one too large for {@code dst}. */
        @Override
        public int decompress(ByteBuffer src, ByteBuffer dst) {
            return lz4.decompress(src, src.position(), src.remaining(), dst, dst.position(), dst.remaining());
        }

        @Override
        public void close() {
            // stateless
        }
    }
}
