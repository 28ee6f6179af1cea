package io.ferry.wire;

import static io.ferry.wire.MultifdFormat.PAGE_SIZE;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;

/**
 * The compressed payload of {@link MultifdDecoder}'s data packets, kept apart so the decoder's
 * state machine does not carry the buffers and checks of compression (the policy is in the
 * decoder's class comment). Accumulates one packet's payload whole, decompresses it, checks the
 * size, and only then hands its pages to the listener. One per compressed channel; not
 * thread-safe.
 */
final class CompressedPacketBody {

    private static final int PAGE_SHIFT = StreamFormat.PAGE_BITS;

    private final MultifdListener listener;
    private final MultifdCompression compression;
    private final PageDecompressor decompressor;
    /** One packet's compressed payload, position 0 to what arrived so far. */
    private final ByteBuffer payload;
    /** One packet's pages, decompressed; one byte beyond the most pages, so too long an output shows. */
    private final ByteBuffer decompressed;
    private final ByteBuf decompressedView;

    // The packet whose payload is arriving.
    private int block;
    private long[] pages;

    CompressedPacketBody(MultifdListener listener, PageDecompressor decompressor, int maxPagesAlloc) {
        this.listener = listener;
        this.decompressor = decompressor;
        compression = decompressor.method();
        int maxPlain = maxPagesAlloc * PAGE_SIZE;
        // direct: the libraries read and write native memory without a copy across JNI
        payload = ByteBuffer.allocateDirect(compression.maxCompressedSize(maxPlain));
        decompressed = ByteBuffer.allocateDirect(maxPlain + 1);
        decompressedView = Unpooled.wrappedBuffer(decompressed.duplicate());
    }

    /** Refuses a payload larger than its pages can compress to, before a byte of it is buffered. */
    void checkSize(long size, long normalCount, long packetStart) {
        if (size > compression.maxCompressedSize((int) normalCount * PAGE_SIZE)) {
            throw MultifdDecoder.fail(MultifdError.COMPRESSED_SIZE_OVER_LIMIT, "next_packet_size " + size + " for "
                    + normalCount + " pages, at most " + compression.maxCompressedSize((int) normalCount * PAGE_SIZE)
                    + " in " + compression, packetStart);
        }
    }

    /** A packet of {@code pages} in {@code block} whose payload of {@code size} bytes follows. */
    void begin(int block, long[] pages, long size) {
        this.block = block;
        this.pages = pages;
        payload.clear().limit((int) size);
    }

    /** Payload bytes still to come. */
    int remaining() {
        return payload.remaining();
    }

    /** Takes what {@code in} has of the payload; returns how many bytes. */
    int accumulate(ByteBuf in) {
        int n = Math.min(in.readableBytes(), payload.remaining());
        ByteBuffer into = payload.duplicate();
        into.limit(into.position() + n);
        in.readBytes(into);
        payload.position(payload.position() + n);
        return n;
    }

    /** The whole payload is in: decompresses it, checks its size, and reports its pages. */
    void inflate(long packetStart) {
        long[] pages = this.pages;
        this.pages = null;
        int expected = pages.length * PAGE_SIZE;
        ByteBuffer src = payload.duplicate().flip();
        ByteBuffer dst = decompressed.duplicate().clear();
        dst.limit(expected + 1);
        int produced;
        try {
            produced = decompressor.decompress(src, dst);
        } catch (RuntimeException e) {
            throw MultifdDecoder.fail(MultifdError.CORRUPT_COMPRESSED_DATA, compression + " payload of "
                    + src.remaining() + " bytes for " + pages.length + " pages: " + e.getMessage(), packetStart);
        }
        if (produced != expected) {
            throw MultifdDecoder.fail(MultifdError.DECOMPRESSED_SIZE_MISMATCH, compression + " payload of "
                    + src.remaining() + " bytes decompressed to "
                    + (produced > expected ? "more than " + expected : produced) + " bytes, expected " + expected
                    + " for " + pages.length + " pages", packetStart);
        }
        for (int k = 0; k < pages.length; k++) {
            long pageIndex = pages[k] >>> PAGE_SHIFT;
            decompressedView.setIndex(k * PAGE_SIZE, (k + 1) * PAGE_SIZE);
            listener.pageData(block, pageIndex, 0, decompressedView);
            listener.pageComplete(block, pageIndex);
        }
    }
}
