package io.ferry.wire;

import static io.ferry.wire.StreamFormat.PAGE_SIZE;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The records of the "ram" section, for {@link StreamDecoder}: page records (ZERO, PAGE and, on the
 * main channel, XBZRLE, each with or without CONTINUE), the RAM block list, EOS and MULTIFD_FLUSH. It keeps the RAM blocks once their
 * list is complete, which post-copy's commands refer to by name.
 *
 * <p>{@link #record} and {@link #blockListEntry} read one element if it is all there and return
 * the state the decoder goes on in, or null if the element is incomplete (or a MULTIFD_FLUSH holds
 * the decoder).
 */
final class RamRecordDecoder {

    private static final int WORD = Long.BYTES;
    private static final int PAGE_SHIFT = StreamFormat.PAGE_BITS;
    private static final int PAGE_FLAGS_MASK = PAGE_SIZE - 1;

    private static final int ZERO = RamFlag.ZERO.code();
    private static final int MEM_SIZE = RamFlag.MEM_SIZE.code();
    private static final int PAGE = RamFlag.PAGE.code();
    private static final int EOS = RamFlag.EOS.code();
    private static final int CONTINUE = RamFlag.CONTINUE.code();
    private static final int XBZRLE = RamFlag.XBZRLE.code();
    private static final int MULTIFD_FLUSH = RamFlag.MULTIFD_FLUSH.code();

    private final DecoderContext context;
    /** The post-copy preempt channel: page records and nothing else. */
    private final boolean preempt;

    /** A MULTIFD_FLUSH was read and its listener asked to wait: nothing more is consumed until {@link #release()}. */
    private boolean held;

    // RAM blocks, fixed once the block list is complete; index = position in the list.
    private List<RamBlockInfo> blocks;
    private byte[][] blockNames;
    private long[] blockLengths;
    /** Block of the last page record on this channel, for CONTINUE; -1 before the first. */
    private int lastBlock = -1;

    // Block list being read.
    private List<RamBlockInfo> pendingBlocks;
    private long blockListTotal;
    private long blockListRemaining;

    RamRecordDecoder(DecoderContext context, boolean preempt) {
        this.context = context;
        this.preempt = preempt;
    }

    /** Takes {@code list} as the RAM blocks, as if its block list had been read, without reporting it. */
    void useBlocks(List<RamBlockInfo> list) {
        blocks = List.copyOf(list);
        blockNames = new byte[blocks.size()][];
        blockLengths = new long[blocks.size()];
        for (int b = 0; b < blocks.size(); b++) {
            blockNames[b] = blocks.get(b).idstr().getBytes(StandardCharsets.UTF_8);
            blockLengths[b] = blocks.get(b).usedLength();
        }
    }

    boolean held() {
        return held;
    }

    void release() {
        held = false;
    }

    /**
     * A new connection: forgets the block list under way and the block used by CONTINUE (QEMU
     * forgets it on a new channel); keeps a completed block list.
     */
    void continueOnNewStream() {
        lastBlock = -1;
        pendingBlocks = null;
        blockListTotal = 0;
        blockListRemaining = 0;
    }

    boolean hasBlockList() {
        return blocks != null;
    }

    String blockIdstr(int block) {
        return blocks.get(block).idstr();
    }

    long blockLength(int block) {
        return blockLengths[block];
    }

    /** The index of the block whose idstr is the {@code length} bytes at {@code index}, or -1. */
    int findBlock(ByteBuf in, int index, int length) {
        byte[][] names = blockNames;
        for (int b = 0; b < names.length; b++) {
            byte[] name = names[b];
            if (name.length != length) {
                continue;
            }
            int k = 0;
            while (k < length && in.getByte(index + k) == name[k]) {
                k++;
            }
            if (k == length) {
                return b;
            }
        }
        return -1;
    }

    /** One be64 RAM record word and its body, in a section of {@code sectionType}. */
    DecoderState record(ByteBuf in, byte sectionType) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < WORD) {
            return null;
        }
        long word = in.getLong(i);
        int flags = (int) (word & PAGE_FLAGS_MASK);
        long offset = word & ~(long) PAGE_FLAGS_MASK;

        if (flags == (PAGE | CONTINUE) || flags == PAGE || flags == (ZERO | CONTINUE) || flags == ZERO) {
            return pageRecord(in, i, r, flags, offset) ? DecoderState.RAM_RECORD : null;
        }
        if (preempt) {
            throw context.fail(String.format("The post-copy preempt channel carries only ZERO and PAGE records, not"
                    + " flags 0x%x (word 0x%016x)", flags, word));
        }
        if ((flags & ~RamFlag.FLAG_BITS) != 0) {
            throw context.fail(String.format(
                    "RAM record address 0x%x is not aligned to the %d-byte page (word 0x%016x)",
                    word & ~(long) RamFlag.FLAG_BITS, PAGE_SIZE, word));
        }
        if (flags == XBZRLE || flags == (XBZRLE | CONTINUE)) {
            return xbzrleRecord(in, i, r, flags, offset) ? DecoderState.RAM_RECORD : null;
        }
        if (flags == EOS) {
            if (offset != 0) {
                throw context.fail(String.format("RAM end-of-section word 0x%016x has a non-zero address", word));
            }
            if (sectionType == StreamFormat.SECTION_START && blocks == null) {
                throw context.fail("RAM START section ended without a RAM block list");
            }
            context.consume(in, WORD);
            return DecoderState.FOOTER;
        }
        if (flags == MULTIFD_FLUSH) {
            if (offset != 0) {
                throw context.fail(String.format("MULTIFD_FLUSH word 0x%016x has a non-zero address", word));
            }
            context.consume(in, WORD);
            held = !context.listener.multifdFlush();
            return held ? null : DecoderState.RAM_RECORD;
        }
        if (flags == MEM_SIZE) {
            if (sectionType != StreamFormat.SECTION_START) {
                throw context.fail("RAM block list in a " + StreamFormat.sectionTypeName(sectionType)
                        + " section (only START may carry it)");
            }
            if (blocks != null) {
                throw context.fail("Duplicate RAM block list");
            }
            context.consume(in, WORD);
            pendingBlocks = new ArrayList<>();
            blockListTotal = offset;
            blockListRemaining = offset;
            if (offset == 0) {
                completeBlockList();
                return DecoderState.RAM_RECORD;
            }
            return DecoderState.RAM_BLOCK_LIST;
        }
        throw context.fail(unknownFlags(flags));
    }

    private static String unknownFlags(int flags) {
        String reason = "";
        int base = flags & ~CONTINUE;
        if (Integer.bitCount(base) == 1) {
            RamFlag flag = RamFlag.valueOf(base);
            if (flag.reserved()) {
                reason = " (" + flag + " is retired or unsupported)";
            } else if ((flags & CONTINUE) != 0) {
                reason = " (CONTINUE only goes with ZERO or PAGE)";
            }
        } else if (base == 0) {
            reason = (flags == 0) ? " (no flag set)" : " (CONTINUE alone)";
        }
        return String.format("Unknown combination of migration flags: 0x%x%s", flags, reason);
    }

    /**
     * ZERO or PAGE record. Everything is checked — block, offset, and that the whole record has
     * arrived — before the listener hears of it.
     */
    private boolean pageRecord(ByteBuf in, int i, int r, int flags, long offset) {
        int block = recordBlock(in, i, r, flags, offset);
        if (block < 0) {
            return false;
        }
        int at = headerBytes(in, i, flags);
        long pageIndex = offset >>> PAGE_SHIFT;
        if ((flags & ZERO) != 0) {
            if (r < at + 1) {
                return false;
            }
            int fill = in.getUnsignedByte(i + at);
            context.consume(in, at + 1);
            lastBlock = block;
            context.listener.zeroPage(block, pageIndex, fill);
            return true;
        }
        if (r < at + PAGE_SIZE) {
            return false;
        }
        lastBlock = block;
        int dataStart = i + at;
        int dataEnd = dataStart + PAGE_SIZE;
        int writerIndex = in.writerIndex();
        in.setIndex(dataStart, dataEnd);
        try {
            context.listener.page(block, pageIndex, in);
        } finally {
            in.setIndex(dataEnd, writerIndex);
            context.position += at + PAGE_SIZE;
        }
        return true;
    }

    /**
     * XBZRLE record ({@link XbzrleRecord}): its body is refused as soon as a bad byte of its header
     * arrives, and its encoding is checked whole against the page size ({@link Xbzrle#check})
     * before the listener applies it. QEMU's limits: an encoding of 1 to PAGE_SIZE bytes whose runs
     * stay inside the page.
     */
    private boolean xbzrleRecord(ByteBuf in, int i, int r, int flags, long offset) {
        int block = recordBlock(in, i, r, flags, offset);
        if (block < 0) {
            return false;
        }
        int at = headerBytes(in, i, flags);
        int encodingStart = i + at + XbzrleRecord.HEADER_BYTES;
        int body;
        try {
            body = XbzrleRecord.bodyLength(in, i + at);
            if (r < at + body) {
                return false;
            }
            int writerIndex = in.writerIndex();
            in.setIndex(encodingStart, i + at + body);
            try {
                Xbzrle.check(in, PAGE_SIZE);
            } finally {
                in.setIndex(i, writerIndex);
            }
        } catch (XbzrleFormatException refused) {
            throw refused.at(String.format("(XBZRLE page at 0x%x of RAM block '%s', stream offset %d)", offset,
                    blocks.get(block).idstr(), context.position));
        }
        lastBlock = block;
        int recordEnd = i + at + body;
        int writerIndex = in.writerIndex();
        in.setIndex(encodingStart, recordEnd);
        try {
            context.listener.xbzrlePage(block, offset >>> PAGE_SHIFT, in);
        } finally {
            in.setIndex(recordEnd, writerIndex);
            context.position += at + body;
        }
        return true;
    }

    /**
     * The block of a page record: the one it names, or with CONTINUE the channel's last; its offset
     * checked against the block. -1 while the idstr has not all arrived.
     */
    private int recordBlock(ByteBuf in, int i, int r, int flags, long offset) {
        if (blocks == null) {
            throw context.fail("RAM page record before the RAM block list");
        }
        int block;
        if ((flags & CONTINUE) != 0) {
            block = lastBlock;
            if (block < 0) {
                throw context.fail("Ack, bad migration stream! RAM record with CONTINUE before any block was named");
            }
        } else {
            if (r < WORD + 1) {
                return -1;
            }
            int length = in.getUnsignedByte(i + WORD);
            if (r < WORD + 1 + length) {
                return -1;
            }
            block = findBlock(in, i + WORD + 1, length);
            if (block < 0) {
                throw context.fail("Unknown ramblock \"" + in.toString(i + WORD + 1, length, StandardCharsets.UTF_8)
                        + "\", cannot accept migration");
            }
        }
        if (Long.compareUnsigned(offset, blockLengths[block]) >= 0) { // unsigned: the top bit is offset too
            throw context.fail(String.format("Illegal RAM offset 0x%x in block '%s' of 0x%x bytes", offset,
                    blocks.get(block).idstr(), blockLengths[block]));
        }
        return block;
    }

    /** The word and, without CONTINUE, the counted idstr (whose length byte has arrived). */
    private static int headerBytes(ByteBuf in, int i, int flags) {
        return (flags & CONTINUE) != 0 ? WORD : WORD + 1 + in.getUnsignedByte(i + WORD);
    }

    /** One block list entry: {@code | u8 n | idstr | be64 used_length |}. */
    DecoderState blockListEntry(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        int length = in.getUnsignedByte(i);
        if (length == 0) {
            throw context.fail(String.format("RAM block list does not add up: 0x%x of the announced 0x%x bytes are"
                    + " not covered by any block (next entry has an empty idstr)", blockListRemaining, blockListTotal));
        }
        context.checkCountedStringLength(length, "RAM block idstr");
        if (r < 1 + length + WORD) {
            return null;
        }
        String idstr = in.toString(i + 1, length, StandardCharsets.UTF_8);
        long usedLength = in.getLong(i + 1 + length);
        if (usedLength <= 0 || usedLength % PAGE_SIZE != 0) {
            throw context.fail(String.format("RAM block '%s' has length 0x%x, not a positive multiple of %d", idstr,
                    usedLength, PAGE_SIZE));
        }
        if (usedLength > blockListRemaining) {
            throw context.fail(String.format("RAM block list does not add up: block '%s' of 0x%x bytes exceeds the"
                    + " 0x%x bytes left of the announced total 0x%x", idstr, usedLength, blockListRemaining,
                    blockListTotal));
        }
        for (RamBlockInfo known : pendingBlocks) {
            if (known.idstr().equals(idstr)) {
                throw context.fail("Duplicate RAM block '" + idstr + "' in the block list");
            }
        }
        int maxRamBlocks = context.limits.maxRamBlocks();
        if (pendingBlocks.size() >= maxRamBlocks) {
            throw context.fail("RAM block list has more than " + maxRamBlocks + " blocks");
        }
        context.consume(in, 1 + length + WORD);
        pendingBlocks.add(new RamBlockInfo(idstr, usedLength));
        blockListRemaining -= usedLength;
        if (blockListRemaining == 0) {
            completeBlockList();
            return DecoderState.RAM_RECORD;
        }
        return DecoderState.RAM_BLOCK_LIST;
    }

    private void completeBlockList() {
        useBlocks(pendingBlocks);
        pendingBlocks = null;
        context.listener.ramBlocks(blocks);
    }
}
