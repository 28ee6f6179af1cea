package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The records of the "block" section (block migration: the storage copy), for
 * {@link StreamDecoder}: EOS, PROGRESS, and DEVICE_BLOCK chunks, zero or followed by 1 MiB of data.
 *
 * <p>{@link #record} and {@link #data} read what is there and return the state the decoder goes
 * on in, or null if nothing could be read.
 */
final class BlockRecordDecoder {

    private static final int WORD = Long.BYTES;
    private static final int BLOCK_FLAGS_MASK = (1 << StreamFormat.SECTOR_BITS) - 1;

    private final DecoderContext context;
    /** Bytes of the current chunk's data passed on so far. */
    private int chunkDelivered;

    BlockRecordDecoder(DecoderContext context) {
        this.context = context;
    }

    /** A new connection: the chunk under way is dropped (its delivered slices cannot be taken back). */
    void continueOnNewStream() {
        chunkDelivered = 0;
    }

    /** {@code | be64 offset|flags | [u8 n | device name] |}; data follows in BLOCK_DATA. */
    DecoderState record(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < WORD) {
            return null;
        }
        long word = in.getLong(i);
        int flags = (int) (word & BLOCK_FLAGS_MASK);
        long value = word & ~(long) BLOCK_FLAGS_MASK;
        if (flags == StreamFormat.BLOCK_FLAG_EOS) {
            if (value != 0) {
                throw context.fail(String.format("block end-of-section word 0x%016x has a non-zero offset", word));
            }
            context.consume(in, WORD);
            return DecoderState.FOOTER;
        }
        if (flags == StreamFormat.BLOCK_FLAG_PROGRESS) {
            long percent = value >>> StreamFormat.SECTOR_BITS;
            if (percent > 100) {
                throw context.fail("block progress of " + percent + "% (word 0x" + Long.toHexString(word) + ")");
            }
            context.consume(in, WORD);
            context.listener.blockProgress((int) percent);
            return DecoderState.BLOCK_RECORD;
        }
        boolean zero = flags == (StreamFormat.BLOCK_FLAG_DEVICE_BLOCK | StreamFormat.BLOCK_FLAG_ZERO_BLOCK);
        if (flags != StreamFormat.BLOCK_FLAG_DEVICE_BLOCK && !zero) {
            throw context.fail(String.format("Unknown block migration flags 0x%x (word 0x%016x)", flags, word));
        }
        if (value < 0) {
            throw context.fail(String.format("block offset of word 0x%016x is out of range", word));
        }
        if (r < WORD + 1) {
            return null;
        }
        int length = context.checkCountedStringLength(in.getUnsignedByte(i + WORD), "block device name");
        if (r < WORD + 1 + length) {
            return null;
        }
        String device = in.toString(i + WORD + 1, length, StandardCharsets.UTF_8);
        context.consume(in, WORD + 1 + length);
        context.listener.blockChunk(device, value, zero);
        if (zero) {
            return DecoderState.BLOCK_RECORD;
        }
        chunkDelivered = 0;
        return DecoderState.BLOCK_DATA;
    }

    /** Hands the chunk's data on as it arrives, as {@code in} itself with its indexes narrowed. */
    DecoderState data(ByteBuf in) {
        int n = Math.min(in.readableBytes(), StreamFormat.BLOCK_CHUNK_BYTES - chunkDelivered);
        if (n == 0) {
            return null;
        }
        int start = in.readerIndex();
        int end = in.writerIndex();
        in.writerIndex(start + n);
        try {
            context.listener.blockData(chunkDelivered, in);
        } finally {
            in.writerIndex(end);
            in.readerIndex(start);
        }
        context.consume(in, n);
        chunkDelivered += n;
        return chunkDelivered == StreamFormat.BLOCK_CHUNK_BYTES ? DecoderState.BLOCK_RECORD : DecoderState.BLOCK_DATA;
    }
}
