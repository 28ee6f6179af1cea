package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * A stream read from a file through a {@link StreamDecoder}, one piece at a time, so a file of
 * many GiB never sits in the heap: {@code ferry inspect} and a guest restore read files this way.
 */
public final class StreamFile {

    /** Bytes read from the file per feed. */
    public static final int PIECE_BYTES = 1 << 20;
    private static final String OFFSET_SUFFIX = " (stream offset ";

    private StreamFile() {
    }

    /** Feeds the whole of {@code in}, from its position, to {@code decoder}, then the end of input. */
    public static void decode(FileChannel in, StreamDecoder decoder) throws IOException {
        ByteBuf cumulation = Unpooled.buffer(2 * PIECE_BYTES);
        try {
            while (cumulation.writeBytes(in, PIECE_BYTES) >= 0) {
                decoder.feed(cumulation);
                cumulation.discardSomeReadBytes();
            }
            decoder.endOfInput();
        } finally {
            cumulation.release();
        }
    }

    /** The decoder's reason without the stream offset it appends: a file's offset travels apart. */
    public static String reason(StreamFormatException e) {
        String message = e.getMessage();
        int suffix = message.lastIndexOf(OFFSET_SUFFIX);
        return suffix > 0 && message.endsWith(")") ? message.substring(0, suffix) : message;
    }
}
