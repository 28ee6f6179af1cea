package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Reads return-path messages ({@link ReturnPathMessage}) on the source side. Same rules as
 * {@link StreamDecoder}: {@link #feed} consumes every complete message, leaves a partial one
 * unread, validates type and length before anything is delivered, and stays failed after the
 * first {@link StreamFormatException}. One per channel; not thread-safe.
 *
 * <p>A RECV_BITMAP is complete only with its bitmap and end marker, which its length field does not
 * count: the caller accumulates up to {@link ReturnPathMessage#MAX_BITMAP_BYTES} plus a few hundred
 * bytes for it. Its size is checked against that limit as soon as it is readable.
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
                if (type == ReturnPathMessage.TYPE_RECV_BITMAP) {
                    ReturnPathMessage.ReceivedBitmap bitmap = receivedBitmap(in, i, length);
                    if (bitmap == null) {
                        return;
                    }
                    sink.accept(bitmap);
                    continue;
                }
                if (type == ReturnPathMessage.TYPE_RESUME_ACK) {
                    int value = in.getInt(i + ReturnPathMessage.HEADER_LENGTH);
                    if (value != ReturnPathMessage.RESUME_ACK_VALUE) {
                        throw new StreamFormatException("Return-path message RESUME_ACK has value "
                                + Integer.toUnsignedString(value) + " (expected " + ReturnPathMessage.RESUME_ACK_VALUE
                                + ", MIGRATION_RESUME_ACK_VALUE)");
                    }
                    in.skipBytes(ReturnPathMessage.HEADER_LENGTH + length);
                    sink.accept(new ReturnPathMessage.ResumeAck(value));
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

    /**
     * RECV_BITMAP, whose {@code len} bytes (u8 n, block name) are readable: validates the name, then
     * the bitmap size as soon as it is readable, and the end marker; null while the bitmap or the
     * marker is still arriving (nothing consumed).
     * <pre>
     *   | be16 5 | be16 1+n | u8 n | name | be64 size | size bytes bitmap (LE) | be64 0x0123456789ABCDEF |
     * </pre>
     */
    private ReturnPathMessage.ReceivedBitmap receivedBitmap(ByteBuf in, int i, int length) {
        int at = i + ReturnPathMessage.HEADER_LENGTH;
        int n = in.getUnsignedByte(at);
        if (n != length - 1) {
            throw new StreamFormatException("Return-path message RECV_BITMAP has bad length " + length
                    + " for a block name of " + n + " bytes (expected " + (1 + n) + ")");
        }
        String block = in.toString(at + 1, n, java.nio.charset.StandardCharsets.UTF_8);
        int sizeAt = at + length;
        if (in.writerIndex() - sizeAt < Long.BYTES) {
            return null;
        }
        long size = in.getLong(sizeAt);
        if (size <= 0 || size > ReturnPathMessage.MAX_BITMAP_BYTES) {
            throw new StreamFormatException("Return-path message RECV_BITMAP for block '" + block + "' has a bitmap of "
                    + Long.toUnsignedString(size) + " bytes, must be 1.." + ReturnPathMessage.MAX_BITMAP_BYTES);
        }
        if (size % Long.BYTES != 0) {
            throw new StreamFormatException("Return-path message RECV_BITMAP for block '" + block + "' has a bitmap of "
                    + size + " bytes, not a multiple of 8");
        }
        int bitmapAt = sizeAt + Long.BYTES;
        if ((long) in.writerIndex() - bitmapAt < size + Long.BYTES) {
            return null;
        }
        int markerAt = bitmapAt + (int) size;
        long marker = in.getLong(markerAt);
        if (marker != ReturnPathMessage.RECV_BITMAP_END_MARKER) {
            throw new StreamFormatException(String.format("Return-path message RECV_BITMAP for block '%s' has end"
                    + " marker 0x%016x (expected 0x%016x)", block, marker, ReturnPathMessage.RECV_BITMAP_END_MARKER));
        }
        long[] words = new long[(int) (size / Long.BYTES)];
        for (int w = 0; w < words.length; w++) {
            words[w] = in.getLongLE(bitmapAt + w * Long.BYTES);
        }
        in.readerIndex(markerAt + Long.BYTES);
        return new ReturnPathMessage.ReceivedBitmap(block, words);
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
            case ReturnPathMessage.TYPE_RECV_BITMAP -> {
                if (length < 2) {
                    throw new StreamFormatException("Return-path message RECV_BITMAP has bad length " + length
                            + " (expected 1 + block name length)");
                }
                yield "RECV_BITMAP";
            }
            case ReturnPathMessage.TYPE_RESUME_ACK -> "RESUME_ACK";
            case 7 -> throw unsupported("SWITCHOVER_ACK", type);
            default -> throw new StreamFormatException("Unknown return-path message type " + type);
        };
        if (length != Integer.BYTES && type != ReturnPathMessage.TYPE_REQ_PAGES_ID
                && type != ReturnPathMessage.TYPE_REQ_PAGES && type != ReturnPathMessage.TYPE_RECV_BITMAP) {
            throw new StreamFormatException("Return-path message " + name + " has bad length " + length + " (expected 4)");
        }
    }

    private static StreamFormatException unsupported(String name, int type) {
        return new StreamFormatException("Return-path message " + name + " (" + type + ") is not supported");
    }
}
