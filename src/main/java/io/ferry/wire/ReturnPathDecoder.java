package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Reads return-path messages ({@link ReturnPathMessage}) on the source side. Same rules as
 * {@link StreamDecoder}: {@link #feed} consumes every complete message, leaves a partial one
 * unread, validates type and length before anything is delivered, and stays failed after the
 * first {@link StreamFormatException}. One per channel; not thread-safe.
 */
public final class ReturnPathDecoder {

    private final Consumer<? super ReturnPathMessage> sink;
    private final int maxLength;
    private StreamFormatException failure; // confined to the feeding thread

    /** A decoder accepting messages up to {@link ReturnPathMessage#MAX_LENGTH} bytes, as QEMU's source. */
    public ReturnPathDecoder(Consumer<? super ReturnPathMessage> sink) {
        this(sink, ReturnPathMessage.MAX_LENGTH);
    }

    public ReturnPathDecoder(Consumer<? super ReturnPathMessage> sink, int maxLength) {
        this.sink = Objects.requireNonNull(sink, "sink");
        if (maxLength < Integer.BYTES || maxLength > 0xFFFF) {
            throw new IllegalArgumentException("maxLength must be in 4..65535, got " + maxLength);
        }
        this.maxLength = maxLength;
    }

    /**
     * Delivers every complete message readable in {@code in} to the sink.
     *
     * @throws StreamFormatException for an unknown or unsupported type, or a wrong length
     */
    public void feed(ByteBuf in) {
        if (failure != null) {
            throw new IllegalStateException("Return-path decoder already failed: " + failure.getMessage(), failure);
        }
        try {
            while (in.readableBytes() >= ReturnPathMessage.HEADER_LENGTH) {
                int i = in.readerIndex();
                int type = in.getUnsignedShort(i);
                int length = in.getUnsignedShort(i + 2);
                checkType(type, length);
                if (in.readableBytes() < ReturnPathMessage.HEADER_LENGTH + length) {
                    return;
                }
                if (type == ReturnPathMessage.TYPE_REASON) {
                    String text = in.toString(i + ReturnPathMessage.HEADER_LENGTH, length,
                            java.nio.charset.StandardCharsets.UTF_8);
                    in.skipBytes(ReturnPathMessage.HEADER_LENGTH + length);
                    sink.accept(new ReturnPathMessage.Reason(text));
                    continue;
                }
                int value = in.getInt(i + ReturnPathMessage.HEADER_LENGTH);
                in.skipBytes(ReturnPathMessage.HEADER_LENGTH + length);
                sink.accept(type == ReturnPathMessage.TYPE_SHUT
                        ? new ReturnPathMessage.Shut(value)
                        : new ReturnPathMessage.Pong(value));
            }
        } catch (StreamFormatException e) {
            failure = e;
            throw e;
        }
    }

    private void checkType(int type, int length) {
        if (length > maxLength) {
            throw new StreamFormatException("Return-path message of type " + type + " has length " + length
                    + ", limit " + maxLength);
        }
        if (type == ReturnPathMessage.TYPE_REASON) {
            if (length == 0) {
                throw new StreamFormatException("Return-path message REASON is empty");
            }
            return;
        }
        String name = switch (type) {
            case ReturnPathMessage.TYPE_SHUT -> "SHUT";
            case ReturnPathMessage.TYPE_PONG -> "PONG";
            case ReturnPathMessage.TYPE_INVALID -> throw new StreamFormatException("Return-path message type 0 (INVALID)");
            case 3 -> throw unsupported("REQ_PAGES_ID", type);
            case 4 -> throw unsupported("REQ_PAGES", type);
            case 5 -> throw unsupported("RECV_BITMAP", type);
            case 6 -> throw unsupported("RESUME_ACK", type);
            case 7 -> throw unsupported("SWITCHOVER_ACK", type);
            default -> throw new StreamFormatException("Unknown return-path message type " + type);
        };
        if (length != Integer.BYTES) {
            throw new StreamFormatException("Return-path message " + name + " has bad length " + length + " (expected 4)");
        }
    }

    private static StreamFormatException unsupported(String name, int type) {
        return new StreamFormatException("Return-path message " + name + " (" + type + ") is not supported");
    }
}
