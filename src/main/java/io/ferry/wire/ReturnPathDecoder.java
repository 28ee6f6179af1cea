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
    private String lastRequestedBlock;     // for REQ_PAGES, which names no block

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
                if (type == ReturnPathMessage.TYPE_REQ_PAGES_ID || type == ReturnPathMessage.TYPE_REQ_PAGES) {
                    sink.accept(requestPages(in, i, type, length));
                    continue;
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

    private ReturnPathMessage.RequestPages requestPages(ByteBuf in, int i, int type, int length) {
        int at = i + ReturnPathMessage.HEADER_LENGTH;
        long start = in.getLong(at);
        int bytes = in.getInt(at + 8);
        String block;
        if (type == ReturnPathMessage.TYPE_REQ_PAGES_ID) {
            int n = in.getUnsignedByte(at + 12);
            if (n == 0 || length != 13 + n) {
                throw new StreamFormatException("Return-path message REQ_PAGES_ID has bad length " + length);
            }
            block = in.toString(at + 13, n, java.nio.charset.StandardCharsets.UTF_8);
            lastRequestedBlock = block;
        } else {
            if (lastRequestedBlock == null) {
                throw new StreamFormatException("Return-path message REQ_PAGES before any REQ_PAGES_ID");
            }
            block = lastRequestedBlock;
        }
        if (start < 0 || bytes <= 0 || start % StreamFormat.PAGE_SIZE != 0 || bytes % StreamFormat.PAGE_SIZE != 0) {
            throw new StreamFormatException("Return-path page request " + start + "+" + bytes
                    + " is not whole pages");
        }
        in.skipBytes(ReturnPathMessage.HEADER_LENGTH + length);
        return new ReturnPathMessage.RequestPages(block, start, bytes);
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
            case ReturnPathMessage.TYPE_REQ_PAGES_ID -> {
                if (length < 14) {
                    throw new StreamFormatException("Return-path message REQ_PAGES_ID has bad length " + length);
                }
                yield "REQ_PAGES_ID";
            }
            case ReturnPathMessage.TYPE_REQ_PAGES -> {
                if (length != 12) {
                    throw new StreamFormatException("Return-path message REQ_PAGES has bad length " + length
                            + " (expected 12)");
                }
                yield "REQ_PAGES";
            }
            case 5 -> throw unsupported("RECV_BITMAP", type);
            case 6 -> throw unsupported("RESUME_ACK", type);
            case 7 -> throw unsupported("SWITCHOVER_ACK", type);
            default -> throw new StreamFormatException("Unknown return-path message type " + type);
        };
        if (length != Integer.BYTES && type != ReturnPathMessage.TYPE_REQ_PAGES_ID
                && type != ReturnPathMessage.TYPE_REQ_PAGES) {
            throw new StreamFormatException("Return-path message " + name + " has bad length " + length + " (expected 4)");
        }
    }

    private static StreamFormatException unsupported(String name, int type) {
        return new StreamFormatException("Return-path message " + name + " (" + type + ") is not supported");
    }
}
