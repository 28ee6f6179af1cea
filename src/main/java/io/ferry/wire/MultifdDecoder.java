package io.ferry.wire;

import static io.ferry.wire.MultifdFormat.PAGE_SIZE;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reads one multifd channel after its {@link MultifdInit} packet: data packets (layout in
 * {@link MultifdFormat}) reported to a {@link MultifdListener}. One instance per channel; not
 * thread-safe.
 *
 * <p>Memory: page data is never buffered. Only a packet header is accumulated, in a buffer sized
 * once from {@link MultifdLimits}; page bytes go to {@link MultifdListener#pageData} straight out
 * of the caller's buffer, fragment by fragment as they arrive, or are placed by the transport
 * itself (below). Costs per packet: one {@link MultifdPacket} and its two offset arrays; per
 * fragment: nothing.
 *
 * <p>Validation: a header is checked whole before anything of it is reported. Its first four words
 * are checked as soon as they arrive, so a channel that is not multifd is refused at its first
 * word, and pages_alloc is bounded before the header is accumulated. Unused offset slots are not
 * checked: QEMU reuses its packet buffer and may leave stale offsets there. The first refusal
 * throws a {@link MultifdFormatException} naming its {@link MultifdError}; the decoder is then
 * dead and every further call throws {@link IllegalStateException}.
 *
 * <p>Sync: after a whole SYNC packet {@link #feed} returns {@link Result#SYNC} and stops, so the
 * transport can hold the channel until the main stream's flush releases all channels, as QEMU's
 * receive threads do; the next {@code feed} goes on with the bytes after it.
 *
 * <p>Direct placement. While {@link #expectsPageData()} is true, the channel's next
 * {@link #bytesLeftInPage()} bytes belong at {@link #offsetInPage()} of page {@link #pageIndex()}
 * of block {@link #blockIndex()}. A transport may read up to that many bytes from the socket
 * straight into that place of guest memory and then call {@link #placed} with how many it put
 * there; the decoder advances exactly as if those bytes had been fed and given to
 * {@link MultifdListener#pageData} (which is not called for them), firing
 * {@link MultifdListener#pageComplete} when the page is whole and moving to the next page or the
 * next header. The channel's bytes are consumed strictly in order: bytes already in the caller's
 * buffer must be fed before any are placed, and no byte is both fed and placed.
 *
 * <p>Compression ({@link #compressed}). The channel negotiated one {@link MultifdCompression};
 * every data packet must carry it (a SYNC packet may carry it or none, as QEMU's versions differ).
 * A compressed payload is bounded by {@link MultifdCompression#maxCompressedSize} of its pages
 * before a byte of it is buffered, accumulated whole in a buffer sized once from the limits, and
 * decompressed into a second one, which must come out at exactly normal_pages × 4096 bytes; only
 * then are its pages reported, each as one whole {@link MultifdListener#pageData} fragment. So a
 * corrupt payload is refused before any of its pages reaches guest memory. Neither compressed
 * library targets scattered pages (LZ4's block format cannot at all), and the pages of one packet
 * are often not contiguous in memory: the copy out of the buffer (512 KiB per packet at most) is
 * small beside decompressing it. Direct placement is never offered for a compressed channel.
 */
public final class MultifdDecoder {

    /** Why {@link #feed} returned. */
    public enum Result {
        /** Everything readable was consumed; feed again when more arrives. */
        NEED_MORE,
        /** A whole SYNC packet was read; the bytes after it were left unread. */
        SYNC
    }

    private enum State {
        /** accumulating a packet header */
        HEADER,
        /** the normal pages' data of the current packet */
        PAGE_DATA,
        /** the compressed payload of the current packet, accumulating */
        COMPRESSED_PAYLOAD,
        /** a refusal was thrown; the decoder is unusable */
        FAILED
    }

    /** magic, version, flags, pages_alloc: checked word by word before the rest is accumulated. */
    private static final int PREFIX = MultifdFormat.NORMAL_PAGES_AT;
    private static final int PAGE_SHIFT = StreamFormat.PAGE_BITS;

    private final MultifdListener listener;
    private final MultifdLimits limits;
    private final List<RamBlockInfo> blocks;
    private final byte[][] blockNames;
    private final long[] blockLengths;
    /** One packet header; its big-endian view reads the fields. */
    private final byte[] header;
    private final ByteBuffer headerView;
    /** The method every data packet must carry. */
    private final MultifdCompression compression;
    /** Null without compression. */
    private final CompressedPacketBody compressedBody;

    // All fields are confined to the thread that feeds the channel.
    private State state = State.HEADER;
    private RuntimeException failure;
    /** Channel bytes consumed (fed or placed) since the init packet. */
    private long position;
    private long packetStart;
    private int filled;
    /** Length of the header being read, once pages_alloc is known. */
    private int headerLength;
    private boolean anyPacket;
    private long lastPacketNum;

    // The packet whose page data is arriving.
    private int block;
    private long[] normalOffsets;
    private int page;
    private int offsetInPage;

    /**
     * @param blocks the destination's RAM blocks; block indexes reported refer to this list
     */
    public MultifdDecoder(MultifdListener listener, MultifdLimits limits, List<RamBlockInfo> blocks) {
        this(listener, limits, blocks, null);
    }

    /**
     * A channel whose data packets are compressed with {@code decompressor}'s method. The decoder
     * uses {@code decompressor} on the feeding thread and does not close it.
     */
    public static MultifdDecoder compressed(MultifdListener listener, MultifdLimits limits, List<RamBlockInfo> blocks,
                                            PageDecompressor decompressor) {
        Objects.requireNonNull(decompressor, "decompressor");
        if (decompressor.method() == MultifdCompression.NONE) {
            throw new IllegalArgumentException("a compressed channel needs a compression method");
        }
        return new MultifdDecoder(listener, limits, blocks, decompressor);
    }

    private MultifdDecoder(MultifdListener listener, MultifdLimits limits, List<RamBlockInfo> blocks,
                           PageDecompressor decompressor) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.limits = Objects.requireNonNull(limits, "limits");
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("a multifd channel needs at least one RAM block");
        }
        this.blocks = List.copyOf(blocks);
        blockNames = new byte[blocks.size()][];
        blockLengths = new long[blocks.size()];
        for (int b = 0; b < blocks.size(); b++) {
            blockNames[b] = blocks.get(b).idstr().getBytes(StandardCharsets.UTF_8);
            blockLengths[b] = blocks.get(b).usedLength();
        }
        header = new byte[MultifdFormat.headerLength(limits.maxPagesAlloc())];
        headerView = ByteBuffer.wrap(header);
        if (decompressor == null) {
            compression = MultifdCompression.NONE;
            compressedBody = null;
        } else {
            compression = decompressor.method();
            compressedBody = new CompressedPacketBody(listener, decompressor, limits.maxPagesAlloc());
        }
    }

    /**
     * Consumes {@code in} and reports what it completes, up to the end of {@code in} or of a SYNC
     * packet, whichever comes first.
     *
     * @throws MultifdFormatException (or what a listener threw) the decoder is then dead
     * @throws IllegalStateException  if the decoder is dead
     */
    public Result feed(ByteBuf in) {
        requireAlive();
        try {
            while (in.isReadable()) {
                if (state == State.HEADER) {
                    if (readHeader(in)) {
                        return Result.SYNC;
                    }
                } else if (state == State.COMPRESSED_PAYLOAD) {
                    accumulate(in);
                } else {
                    deliver(in);
                }
            }
            return Result.NEED_MORE;
        } catch (RuntimeException e) {
            throw die(e);
        }
    }

    /** Whether the channel's next bytes are page data (which a transport may place itself). */
    public boolean expectsPageData() {
        return state == State.PAGE_DATA;
    }

    /** Block of the page the next data bytes belong to. */
    public int blockIndex() {
        requirePageData();
        return block;
    }

    /** Page (in its block) the next data bytes belong to. */
    public long pageIndex() {
        requirePageData();
        return normalOffsets[page] >>> PAGE_SHIFT;
    }

    /** Where in the page the next data byte belongs. */
    public int offsetInPage() {
        requirePageData();
        return offsetInPage;
    }

    /** Data bytes still due for the current page: the most {@link #placed} accepts. */
    public int bytesLeftInPage() {
        requirePageData();
        return PAGE_SIZE - offsetInPage;
    }

    /**
     * Data bytes due from here to the end of the run of consecutive pages (in the block) this
     * packet sends next: what a transport may read into guest memory in one go.
     */
    public int contiguousPageBytes() {
        requirePageData();
        int end = page + 1;
        while (end < normalOffsets.length && normalOffsets[end] == normalOffsets[end - 1] + PAGE_SIZE) {
            end++;
        }
        return (end - page) * PAGE_SIZE - offsetInPage;
    }

    /**
     * Outside page data: how many bytes the decoder takes before its next decision (the next
     * prefix word, the rest of the header, or the rest of a compressed payload), so a transport
     * that places page data itself can read exactly up to where the page data starts. 0 while
     * page data is expected.
     */
    public int headerBytesWanted() {
        if (state == State.COMPRESSED_PAYLOAD) {
            return compressedBody.remaining();
        }
        if (state != State.HEADER) {
            return 0;
        }
        return filled < PREFIX ? filled - filled % Integer.BYTES + Integer.BYTES - filled : headerLength - filled;
    }

    /**
     * The transport put the channel's next {@code bytes} bytes into the current page itself (see
     * the class comment); fires {@link MultifdListener#pageComplete} if that finished the page.
     *
     * @throws IllegalArgumentException unless {@code bytes} is 1..{@link #bytesLeftInPage()}
     * @throws IllegalStateException    if no page data is expected, or the decoder is dead
     */
    public void placed(int bytes) {
        requireAlive();
        requirePageData();
        if (bytes < 1 || bytes > PAGE_SIZE - offsetInPage) {
            throw new IllegalArgumentException("placed " + bytes + " bytes, the page has room for 1.."
                    + (PAGE_SIZE - offsetInPage));
        }
        try {
            advance(bytes);
        } catch (RuntimeException e) {
            throw die(e);
        }
    }

    /** Whether a refusal was thrown. */
    public boolean failed() {
        return state == State.FAILED;
    }

    /** Channel bytes consumed (fed or placed) after the init packet. */
    public long position() {
        return position;
    }

    // ---------------------------------------------------------------- header

    /** Accumulates header bytes; true once a whole SYNC packet was read. */
    private boolean readHeader(ByteBuf in) {
        while (in.isReadable()) {
            if (filled == 0) {
                packetStart = position;
            }
            // Word by word through the prefix, then the rest in one go.
            int target = filled < PREFIX ? filled - filled % Integer.BYTES + Integer.BYTES : headerLength;
            int n = Math.min(in.readableBytes(), target - filled);
            in.readBytes(header, filled, n);
            filled += n;
            position += n;
            if (filled < target) {
                return false;
            }
            if (filled <= PREFIX) {
                checkPrefixWord(filled - Integer.BYTES);
            } else {
                return packetComplete();
            }
        }
        return false;
    }

    private void checkPrefixWord(int at) {
        int value = headerView.getInt(at);
        switch (at) {
            case 0 -> {
                if (value != MultifdFormat.MAGIC) {
                    throw fail(MultifdError.BAD_MAGIC,
                            String.format("magic 0x%08x, expected 0x%08x", value, MultifdFormat.MAGIC));
                }
            }
            case Integer.BYTES -> {
                if (value != MultifdFormat.VERSION) {
                    throw fail(MultifdError.UNSUPPORTED_VERSION, "version " + Integer.toUnsignedString(value)
                            + " (supported: " + MultifdFormat.VERSION + ")");
                }
            }
            case MultifdFormat.FLAGS_AT -> checkFlags(value);
            case MultifdFormat.PAGES_ALLOC_AT -> {
                if (Integer.toUnsignedLong(value) > limits.maxPagesAlloc()) {
                    throw fail(MultifdError.PAGE_COUNT_OVER_LIMIT, "pages_alloc " + Integer.toUnsignedString(value)
                            + ", limit " + limits.maxPagesAlloc());
                }
                headerLength = MultifdFormat.headerLength(value);
            }
            default -> throw new IllegalStateException("no prefix word at " + at);
        }
    }

    /** A known method, and the channel's: a SYNC packet may also carry none. */
    private void checkFlags(int flags) {
        MultifdCompression method;
        try {
            method = MultifdCompression.fromFlags(flags);
        } catch (MultifdFormatException e) {
            throw fail(e.error(), e.detail());
        }
        boolean sync = (flags & MultifdFormat.FLAG_SYNC) != 0;
        if (method != compression && !(sync && method == MultifdCompression.NONE)) {
            throw fail(MultifdError.COMPRESSION_MISMATCH, String.format("flags 0x%x: %s packet on a channel of %s",
                    flags, method, compression));
        }
    }

    /** The whole header is in: checks it, reports it, and sets up its page data. */
    private boolean packetComplete() {
        int flags = headerView.getInt(MultifdFormat.FLAGS_AT);
        int pagesAlloc = headerView.getInt(MultifdFormat.PAGES_ALLOC_AT);
        long normalCount = Integer.toUnsignedLong(headerView.getInt(MultifdFormat.NORMAL_PAGES_AT));
        long zeroCount = Integer.toUnsignedLong(headerView.getInt(MultifdFormat.ZERO_PAGES_AT));
        long size = Integer.toUnsignedLong(headerView.getInt(MultifdFormat.NEXT_PACKET_SIZE_AT));
        long packetNum = headerView.getLong(MultifdFormat.PACKET_NUM_AT);
        boolean sync = (flags & MultifdFormat.FLAG_SYNC) != 0;

        if (normalCount + zeroCount > pagesAlloc) {
            throw fail(MultifdError.PAGE_COUNT_OVER_LIMIT, "normal_pages " + normalCount + " + zero_pages " + zeroCount
                    + " exceed pages_alloc " + pagesAlloc);
        }
        if (sync && normalCount + zeroCount > 0) {
            throw fail(MultifdError.SYNC_WITH_PAGES, "SYNC packet " + Long.toUnsignedString(packetNum) + " lists "
                    + normalCount + " normal and " + zeroCount + " zero pages");
        }
        boolean compressed = (flags & MultifdCompression.METHOD_MASK) != 0;
        if (!compressed && size != normalCount * PAGE_SIZE) {
            throw fail(MultifdError.SIZE_MISMATCH, "next_packet_size " + size + " for " + normalCount
                    + " uncompressed pages of " + PAGE_SIZE + " bytes");
        }
        if (compressed && (normalCount == 0) != (size == 0)) {
            throw fail(MultifdError.SIZE_MISMATCH, "next_packet_size " + size + " for " + normalCount
                    + " compressed pages");
        }
        if (compressed) {
            compressedBody.checkSize(size, normalCount, packetStart);
        }
        // Unsigned: packet_num is a u64 counter.
        if (anyPacket && Long.compareUnsigned(packetNum, lastPacketNum) <= 0) {
            throw fail(MultifdError.PACKET_NUMBER_NOT_INCREASING, "packet_num " + Long.toUnsignedString(packetNum)
                    + " after " + Long.toUnsignedString(lastPacketNum));
        }
        // QEMU leaves the name empty on packets without pages and does not look it up: nor do we.
        int blockIndex = normalCount + zeroCount == 0 ? -1 : findBlock();
        long[] normal = offsets(blockIndex, 0, (int) normalCount);
        long[] zero = offsets(blockIndex, (int) normalCount, (int) zeroCount);

        anyPacket = true;
        lastPacketNum = packetNum;
        filled = 0;
        if (sync) {
            listener.sync(packetNum);
            return true;
        }
        String name = blockIndex < 0 ? "" : blocks.get(blockIndex).idstr();
        MultifdPacket packet = new MultifdPacket(flags, pagesAlloc, name, packetNum, normal, zero);
        if (normal.length > 0) {
            state = compressed ? State.COMPRESSED_PAYLOAD : State.PAGE_DATA;
            block = blockIndex;
            normalOffsets = normal;
            page = 0;
            offsetInPage = 0;
            if (compressed) {
                compressedBody.begin(blockIndex, normal, size);
            }
        }
        listener.packet(blockIndex, packet);
        return false;
    }

    /** The block named at offset 64, compared in place: a known name costs no String. */
    private int findBlock() {
        int at = MultifdFormat.BLOCK_NAME_AT;
        int length = 0;
        while (length < MultifdFormat.BLOCK_NAME_FIELD && header[at + length] != 0) {
            length++;
        }
        if (length == MultifdFormat.BLOCK_NAME_FIELD) {
            throw fail(MultifdError.UNKNOWN_BLOCK, "block name is not NUL-terminated within "
                    + MultifdFormat.BLOCK_NAME_FIELD + " bytes");
        }
        if (length == 0) {
            throw fail(MultifdError.UNKNOWN_BLOCK, "packet with pages names no block");
        }
        for (int b = 0; b < blockNames.length; b++) {
            if (blockNames[b].length == length
                    && Arrays.equals(header, at, at + length, blockNames[b], 0, length)) {
                return b;
            }
        }
        throw fail(MultifdError.UNKNOWN_BLOCK, "block \"" + new String(header, at, length, StandardCharsets.UTF_8)
                + "\" is not in this destination's block list");
    }

    /** {@code count} offsets from slot {@code first}, each checked against the block. */
    private long[] offsets(int blockIndex, int first, int count) {
        long[] offsets = new long[count];
        for (int k = 0; k < count; k++) {
            long offset = headerView.getLong(MultifdFormat.OFFSETS_AT + Long.BYTES * (first + k));
            // Unsigned: a negative offset is a huge one.
            if (Long.compareUnsigned(offset, blockLengths[blockIndex]) >= 0 || offset % PAGE_SIZE != 0) {
                throw fail(MultifdError.OFFSET_OUTSIDE_BLOCK, String.format(
                        "offset 0x%x in block '%s' of 0x%x bytes (slot %d)", offset, blocks.get(blockIndex).idstr(),
                        blockLengths[blockIndex], first + k));
            }
            offsets[k] = offset;
        }
        return offsets;
    }

    // ---------------------------------------------------------------- page data

    /** Hands over the next fragment as {@code in} itself, its writer index narrowed to the fragment. */
    private void deliver(ByteBuf in) {
        int n = Math.min(in.readableBytes(), PAGE_SIZE - offsetInPage);
        int start = in.readerIndex();
        int end = in.writerIndex();
        in.writerIndex(start + n);
        try {
            listener.pageData(block, normalOffsets[page] >>> PAGE_SHIFT, offsetInPage, in);
        } finally {
            // Past the fragment whatever the listener did with the indexes.
            in.writerIndex(end);
            in.readerIndex(start + n);
        }
        advance(n);
    }

    private void advance(int n) {
        position += n;
        offsetInPage += n;
        if (offsetInPage < PAGE_SIZE) {
            return;
        }
        int completedBlock = block;
        long completedPage = normalOffsets[page] >>> PAGE_SHIFT;
        offsetInPage = 0;
        page++;
        if (page == normalOffsets.length) {
            state = State.HEADER;
            normalOffsets = null;
        }
        listener.pageComplete(completedBlock, completedPage);
    }

    // ---------------------------------------------------------------- compressed payload

    private void accumulate(ByteBuf in) {
        position += compressedBody.accumulate(in);
        if (compressedBody.remaining() == 0) {
            // Back to headers before the pages are reported, as for uncompressed data.
            state = State.HEADER;
            normalOffsets = null;
            compressedBody.inflate(packetStart);
        }
    }

    // ---------------------------------------------------------------- helpers

    private void requireAlive() {
        if (state == State.FAILED) {
            throw new IllegalStateException("multifd decoder already failed: " + failure.getMessage(), failure);
        }
    }

    private void requirePageData() {
        if (state != State.PAGE_DATA) {
            throw new IllegalStateException("no page data expected (state " + state + ")");
        }
    }

    private RuntimeException die(RuntimeException e) {
        state = State.FAILED;
        failure = e;
        return e;
    }

    private MultifdFormatException fail(MultifdError error, String detail) {
        return fail(error, detail, packetStart);
    }

    /** Shared with {@link CompressedPacketBody} so every refusal names its offset the same way. */
    static MultifdFormatException fail(MultifdError error, String detail, long packetStart) {
        return new MultifdFormatException(error, detail + " (packet at channel offset " + packetStart + ")");
    }
}
