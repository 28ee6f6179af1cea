package io.ferry.migration.outgoing;

import io.ferry.channel.MigrationProgress;
import io.ferry.guest.RamBlock;
import io.ferry.migration.MigrationFailure;
import io.ferry.migration.compression.PageCompressor;
import io.ferry.migration.transport.OutgoingConnection;
import io.ferry.wire.MultifdEncoder;
import io.ferry.wire.MultifdFormat;
import io.ferry.wire.MultifdInit;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * Pre-copy's pages on QEMU's multifd channels. Pages are gathered into packets of up to
 * {@link MultifdFormat#PAGES_PER_PACKET} pages of one RAM block; a packet is its header followed by
 * the pages' bytes, and those bytes are never copied here: the packet is a composite of the header
 * and views of guest memory (one view per run of consecutive pages), which the socket writes with
 * one gathering write, so the only copy is the kernel's. A packet goes to the first channel that
 * can take it, the next one in turn when all are busy.
 *
 * <p>Order across channels is restored at sync points, as QEMU's: {@link #sync} sends a SYNC
 * packet on every channel, and the caller then writes a MULTIFD_FLUSH word on the main stream;
 * the destination places everything before the SYNCs before it reads past the word. Within one
 * round a page is sent at most once, so no two channels ever carry the same page unordered.
 *
 * <p>A page view is read by the socket after {@link #add} returned; the guest may write the page
 * meanwhile. That is a page dirtied after it was sent, which the dirty log already marked: it is
 * sent again in a later round (or in the final one, with the guest paused).
 *
 * <p>Compression (a job's {@code compression}): each packet's normal pages are copied out of guest
 * memory into one buffer and compressed as one stream, written after the header in place of the
 * pages; zero pages stay offsets only, never compressed. The copy is what makes the pages one
 * stream for both libraries (LZ4's block format takes one input), and it also fixes the pages
 * the stream was made of: a guest write after it is a page dirtied after it was sent, as above.
 * Compression runs on the migration thread, which gathers the packets: one compressor, reused.
 */
final class MultifdSender implements AutoCloseable {

    private final List<OutgoingConnection> channels;
    private final long[] normal = new long[MultifdFormat.PAGES_PER_PACKET];
    private final long[] zero = new long[MultifdFormat.PAGES_PER_PACKET];
    private int normalCount;
    private int zeroCount;
    /** The block of the packet being gathered; null when it is empty. */
    private RamBlock block;
    private byte[] blockName;
    private long packetNumber;
    private int nextChannel;
    /** Page bytes written since {@link #takeWrittenPayload} last asked: pages count as sent once their packet is. */
    private long writtenPayload;
    /** Null without compression; then so is {@link #gathered}. */
    private final PageCompressor compressor;
    /** One packet's normal pages, copied out of guest memory for the compressor. */
    private final ByteBuf gathered;
    // Written by the migration thread only; read by progress() from any thread.
    private volatile long compressedPages;
    private volatile long compressedBytesIn;
    private volatile long compressedBytesOut;

    private MultifdSender(List<OutgoingConnection> channels, PageCompressor compressor) {
        this.channels = channels;
        this.compressor = compressor;
        this.gathered = compressor == null ? null
                : Unpooled.directBuffer(MultifdFormat.PAGES_PER_PACKET * StreamFormat.PAGE_SIZE);
    }

    /**
     * Sends each channel's MultifdInit (the job and the channel's number) right after its handshake.
     * Takes ownership of {@code channels} and of {@code compressor} (null: pages go plain):
     * {@link #close} closes them.
     */
    static MultifdSender start(UUID jobId, List<OutgoingConnection> channels, PageCompressor compressor)
            throws InterruptedException {
        MultifdSender sender = new MultifdSender(List.copyOf(channels), compressor);
        try {
            for (int id = 0; id < channels.size(); id++) {
                OutgoingConnection channel = channels.get(id);
                ByteBuf init = channel.alloc().directBuffer(MultifdFormat.INIT_LENGTH);
                new MultifdInit(jobId, id).encode(init);
                channel.write(init);
            }
        } catch (RuntimeException | InterruptedException e) {
            sender.close();
            throw e;
        }
        return sender;
    }

    /**
     * Adds one page ({@code zeroPage}: the caller found it all zero, so only its offset travels).
     * Returns the bytes written when this filled a packet and sent it, else 0.
     */
    long add(RamBlock page, long pageIndex, boolean zeroPage) throws InterruptedException {
        long written = 0;
        if (block != page || normalCount + zeroCount == MultifdFormat.PAGES_PER_PACKET) {
            written = flush();
        }
        if (block == null) {
            block = page;
            blockName = page.name().getBytes(StandardCharsets.UTF_8);
        }
        long offset = pageIndex * StreamFormat.PAGE_SIZE;
        if (zeroPage) {
            zero[zeroCount++] = offset;
        } else {
            normal[normalCount++] = offset;
        }
        return written;
    }

    /** Sends the packet being gathered, if any; returns the bytes written. */
    long flush() throws InterruptedException {
        if (block == null) {
            return 0;
        }
        int index = pickChannel();
        OutgoingConnection channel = channels.get(index);
        if (compressor != null) {
            ByteBuf packet = compressedPacket(channel);
            long bytes = packet.readableBytes();
            // the payload the link carries: the compressed stream (so payload stays within the stream's bytes)
            writtenPayload += bytes - MultifdFormat.headerLength(MultifdFormat.PAGES_PER_PACKET);
            block = null;
            normalCount = 0;
            zeroCount = 0;
            write(index, packet);
            return bytes;
        }
        int headerLength = MultifdFormat.headerLength(MultifdFormat.PAGES_PER_PACKET);
        ByteBuf header = channel.alloc().directBuffer(headerLength);
        MultifdEncoder.packetHeader(header, 0, MultifdFormat.PAGES_PER_PACKET, blockName, ++packetNumber, normal,
                normalCount, zero, zeroCount);
        CompositeByteBuf packet = channel.alloc().compositeDirectBuffer(normalCount + 1);
        packet.addComponent(true, header);
        for (int i = 0; i < normalCount; ) {
            int run = 1;
            while (i + run < normalCount && normal[i + run] == normal[i] + (long) run * StreamFormat.PAGE_SIZE) {
                run++;
            }
            packet.addComponent(true, block.view(normal[i] / StreamFormat.PAGE_SIZE, run));
            i += run;
        }
        long bytes = packet.readableBytes();
        writtenPayload += (long) normalCount * StreamFormat.PAGE_SIZE;
        block = null;
        normalCount = 0;
        zeroCount = 0;
        write(index, packet);
        return bytes;
    }

    /** The gathered packet, its normal pages compressed as one stream after the header. */
    private ByteBuf compressedPacket(OutgoingConnection channel) {
        int headerLength = MultifdFormat.headerLength(MultifdFormat.PAGES_PER_PACKET);
        int plainBytes = normalCount * StreamFormat.PAGE_SIZE;
        int bound = compressor.method().maxCompressedSize(plainBytes);
        ByteBuf packet = channel.alloc().directBuffer(headerLength + bound);
        try {
            MultifdEncoder.packetHeader(packet, 0, MultifdFormat.PAGES_PER_PACKET, blockName, ++packetNumber, normal,
                    normalCount, zero, zeroCount);
            int size = 0;
            if (normalCount > 0) {
                gathered.clear();
                for (int i = 0; i < normalCount; i++) {
                    block.readPage(normal[i] / StreamFormat.PAGE_SIZE, gathered);
                }
                size = compressor.compress(gathered.nioBuffer(0, plainBytes), packet.nioBuffer(headerLength, bound));
                packet.writerIndex(headerLength + size);
            }
            MultifdEncoder.compressedPayload(packet, 0, compressor.method(), size);
            compressedPages += normalCount;
            compressedBytesIn += plainBytes;
            compressedBytesOut += size;
            return packet;
        } catch (RuntimeException e) {
            packet.release();
            throw e;
        }
    }

    /**
     * Compression's figures (QEMU's compression rate is {@code bytesIn / bytesOut}); null when
     * the pages go plain. Only normal pages count: zero pages are never compressed.
     */
    MigrationProgress.Compression compressionProgress() {
        if (compressor == null) {
            return null;
        }
        long in = compressedBytesIn;
        long out = compressedBytesOut;
        return new MigrationProgress.Compression(compressor.method().name().toLowerCase(java.util.Locale.ROOT),
                compressedPages, in, out, out == 0 ? 0 : (double) in / out);
    }

    /** Sends what is gathered, then a SYNC packet on every channel; returns the bytes written. */
    long sync() throws InterruptedException {
        long written = flush();
        int headerLength = MultifdFormat.headerLength(MultifdFormat.PAGES_PER_PACKET);
        for (int index = 0; index < channels.size(); index++) {
            ByteBuf sync = channels.get(index).alloc().directBuffer(headerLength);
            MultifdEncoder.sync(sync, ++packetNumber, MultifdFormat.PAGES_PER_PACKET);
            write(index, sync);
            written += headerLength;
        }
        return written;
    }

    /** The page bytes of the packets written since the last call (a gathered packet not yet sent is not among them). */
    long takeWrittenPayload() {
        long bytes = writtenPayload;
        writtenPayload = 0;
        return bytes;
    }

    /** Writes on one channel; a broken channel's failure names it. */
    private void write(int index, ByteBuf data) throws InterruptedException {
        try {
            channels.get(index).write(data);
        } catch (MigrationFailure broken) {
            throw new MigrationFailure("multifd channel " + (index + 1) + " of " + channels.size() + ": "
                    + broken.getMessage(), broken);
        }
    }

    /** The first channel, from the next in turn, that takes data now; the next in turn (its write waits) when none does. */
    private int pickChannel() {
        int n = channels.size();
        for (int i = 0; i < n; i++) {
            int candidate = (nextChannel + i) % n;
            if (channels.get(candidate).isWritable()) {
                nextChannel = (candidate + 1) % n;
                return candidate;
            }
        }
        int next = nextChannel;
        nextChannel = (nextChannel + 1) % n;
        return next;
    }

    @Override
    public void close() {
        channels.forEach(OutgoingConnection::close);
        if (compressor != null && gathered.refCnt() > 0) {   // closed once: a failed start closes, then Channels may
            compressor.close();
            gathered.release();
        }
    }

    /** Why a multifd channel could not be opened: the job fails before anything was sent. */
    static MigrationFailure cannotOpen(int id, int count, MigrationFailure cause) {
        return new MigrationFailure("cannot open multifd channel " + (id + 1) + " of " + count + ": "
                + cause.getMessage(), cause);
    }
}
