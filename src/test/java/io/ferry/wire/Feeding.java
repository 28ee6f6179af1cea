package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.Random;
import java.util.function.IntSupplier;

/** Ways of handing a stream to a decoder, as a socket would: whole, byte by byte, in random chunks. */
final class Feeding {

    private Feeding() {
    }

    /**
     * Feeds {@code stream} in chunks of {@code chunkSize} bytes into an accumulating buffer, the way
     * a ByteToMessageDecoder cumulates, and returns how many bytes the decoder left unread at the end.
     */
    static int feed(StreamDecoder decoder, byte[] stream, IntSupplier chunkSize) {
        return feed((java.util.function.Consumer<ByteBuf>) decoder::feed, stream, chunkSize);
    }

    /** As above, for any decoder that takes a cumulation buffer (the return path's too). */
    static int feed(java.util.function.Consumer<ByteBuf> decoder, byte[] stream, IntSupplier chunkSize) {
        ByteBuf cumulation = Unpooled.buffer(8192);
        try {
            int at = 0;
            while (at < stream.length) {
                int n = Math.min(Math.max(1, chunkSize.getAsInt()), stream.length - at);
                cumulation.writeBytes(stream, at, n);
                at += n;
                decoder.accept(cumulation);
                cumulation.discardSomeReadBytes();
            }
            return cumulation.readableBytes();
        } finally {
            cumulation.release();
        }
    }

    static int whole(StreamDecoder decoder, byte[] stream) {
        return feed(decoder, stream, () -> stream.length);
    }

    static int byteByByte(StreamDecoder decoder, byte[] stream) {
        return feed(decoder, stream, () -> 1);
    }

    static int randomChunks(StreamDecoder decoder, byte[] stream, long seed, int maxChunk) {
        Random random = new Random(seed);
        return feed(decoder, stream, () -> 1 + random.nextInt(maxChunk));
    }

    /** Copies out the readable bytes and releases the buffer. */
    static byte[] drain(ByteBuf buf) {
        try {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            return bytes;
        } finally {
            buf.release();
        }
    }

    /** "51 45 56 4d" → bytes; spaces and line breaks are ignored. */
    static byte[] hex(String text) {
        return HexFormat.of().parseHex(text.replaceAll("\\s+", ""));
    }

    /**
     * Feeds {@code stream} whole and a byte at a time, each into a fresh decoder with a fresh
     * listener; both must fail with {@code message} and stay failed. Returns the two listeners
     * (whole first) for checks of what was reported before the refusal.
     */
    static <L extends StreamListener> java.util.List<L> assertRefused(java.util.function.Supplier<L> listeners,
                                                                       byte[] stream, DecoderLimits limits,
                                                                       String message) {
        java.util.List<L> used = new java.util.ArrayList<>();
        for (boolean byteByByte : new boolean[] {false, true}) {
            L listener = listeners.get();
            StreamDecoder decoder = new StreamDecoder(listener, limits);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
                if (byteByByte) {
                    byteByByte(decoder, stream);
                } else {
                    whole(decoder, stream);
                }
            }).isInstanceOf(StreamFormatException.class).hasMessageContaining(message);
            org.assertj.core.api.Assertions.assertThat(decoder.failed()).isTrue();
            used.add(listener);
        }
        return used;
    }
}
