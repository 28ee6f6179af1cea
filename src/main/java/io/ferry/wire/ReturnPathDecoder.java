package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.function.Consumer;

/** Incremental decoder of return-path messages; a partial message stays unread. */
public final class ReturnPathDecoder {

    public void feed(ByteBuf in, Consumer<ReturnPathMessage> out) {
        while (in.readableBytes() >= 4) {
            int at = in.readerIndex();
            int type = in.getUnsignedShort(at);
            int length = in.getUnsignedShort(at + 2);
            if (length > ReturnPathMessage.MAX_LENGTH) {
                throw new StreamFormatException("return-path message of " + length + " bytes");
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            ReturnPathMessage message = switch (type) {
                case ReturnPathMessage.SHUT -> new ReturnPathMessage.Shut(fixed(in, at, length));
                case ReturnPathMessage.PONG -> new ReturnPathMessage.Pong(fixed(in, at, length));
                case ReturnPathMessage.REASON -> new ReturnPathMessage.Reason(
                        in.toString(at + 4, length, java.nio.charset.StandardCharsets.UTF_8));
                default -> throw new StreamFormatException("unknown return-path message type " + type);
            };
            in.skipBytes(4 + length);
            out.accept(message);
        }
    }

    private static int fixed(ByteBuf in, int at, int length) {
        if (length != 4) {
            throw new StreamFormatException("return-path message of type " + in.getUnsignedShort(at)
                    + " has bad length " + length);
        }
        return in.getInt(at + 4);
    }
}
