package io.ferry.guest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * One RAM block of a {@link GuestMemory}: {@code sizeBytes} of off-heap memory addressed by page.
 *
 * <p>The block is stored as chunks of at most {@link #CHUNK_BYTES}, each its own malloc, because
 * Linux's default overcommit heuristic refuses a single mapping larger than RAM + swap while
 * accepting many smaller ones. Every page index is bounds-checked; an index outside
 * {@code [0, pageCount)} throws IndexOutOfBoundsException.
 *
 * <p>Access is not synchronised: like real guest RAM, a page may be read while the workload
 * writes it. The dirty log, not a lock, is what makes such a torn read harmless in migration.
 */
public final class RamBlock {

    public static final int PAGE_SIZE = 4096;
    static final int PAGE_SHIFT = 12;
    static final int CHUNK_SHIFT = 30;
    static final long CHUNK_BYTES = 1L << CHUNK_SHIFT;
    private static final int PAGES_PER_CHUNK_SHIFT = CHUNK_SHIFT - PAGE_SHIFT;
    private static final long PAGE_IN_CHUNK_MASK = (1L << PAGES_PER_CHUNK_SHIFT) - 1;
    /** The largest {@link #view} whose length still fits a ByteBuf's int capacity. */
    public static final int MAX_VIEW_PAGES = Integer.MAX_VALUE / PAGE_SIZE;

    private final GuestMemory memory;
    private final String name;
    private final long sizeBytes;
    private final long pageCount;
    private final long[] chunkAddresses;

    RamBlock(GuestMemory memory, RamBlockSpec spec, long[] chunkAddresses) {
        this.memory = memory;
        this.name = spec.name();
        this.sizeBytes = spec.sizeBytes();
        this.pageCount = spec.pageCount();
        this.chunkAddresses = chunkAddresses;
    }

    public String name() {
        return name;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public long pageCount() {
        return pageCount;
    }

    /**
     * A non-owning ByteBuf over one page (readable bytes = {@link #PAGE_SIZE}); writes through it
     * change guest memory. Releasing it frees nothing; it must not be used after the memory closes.
     */
    public ByteBuf pageView(long page) {
        return Unpooled.wrappedBuffer(nioView(checkPage(page), 1));
    }

    /**
     * A non-owning ByteBuf over {@code pages} consecutive pages, like {@link #pageView}. A range
     * that crosses an allocation chunk comes back as a composite of the pieces.
     */
    public ByteBuf view(long firstPage, int pages) {
        Objects.checkFromIndexSize(firstPage, pages, pageCount);
        if (pages == 0) {
            return Unpooled.EMPTY_BUFFER;
        }
        if (pages > MAX_VIEW_PAGES) {
            throw new IllegalArgumentException("a view holds at most " + MAX_VIEW_PAGES + " pages, asked " + pages);
        }
        memory.checkOpen();
        long lastPage = firstPage + pages - 1;
        if (firstPage >>> PAGES_PER_CHUNK_SHIFT == lastPage >>> PAGES_PER_CHUNK_SHIFT) {
            return Unpooled.wrappedBuffer(nioView(firstPage, pages));
        }
        int pieces = (int) ((lastPage >>> PAGES_PER_CHUNK_SHIFT) - (firstPage >>> PAGES_PER_CHUNK_SHIFT)) + 1;
        ByteBuffer[] parts = new ByteBuffer[pieces];
        long page = firstPage;
        for (int i = 0; i < pieces; i++) {
            long chunkEnd = ((page >>> PAGES_PER_CHUNK_SHIFT) + 1) << PAGES_PER_CHUNK_SHIFT;
            int n = (int) (Math.min(chunkEnd, lastPage + 1) - page);
            parts[i] = nioView(page, n);
            page += n;
        }
        return Unpooled.wrappedBuffer(parts);
    }

    /**
     * An empty, writable, non-owning buffer over guest memory from {@code offsetInPage} of
     * {@code page} on, at most {@code maxBytes} long and never past the allocation chunk the page
     * lies in: a socket read into it lands in the guest without a copy. It must not be used after
     * the memory closes.
     */
    public ByteBuf placementView(long page, int offsetInPage, int maxBytes) {
        Objects.checkIndex(offsetInPage, PAGE_SIZE);
        long address = address(checkPage(page)) + offsetInPage;
        long chunkEnd = ((page >>> PAGES_PER_CHUNK_SHIFT) + 1) << PAGES_PER_CHUNK_SHIFT;
        long toChunkEnd = ((Math.min(chunkEnd, pageCount) - page) << PAGE_SHIFT) - offsetInPage;
        int length = (int) Math.min(Math.max(1, maxBytes), toChunkEnd);
        return Unpooled.wrappedBuffer(NativeViews.wrap(address, length)).clear();
    }

    /** Whether the page holds only zero bytes; reading an untouched page commits no memory. */
    public boolean isZeroPage(long page) {
        long address = address(checkPage(page));
        for (int offset = 0; offset < PAGE_SIZE; offset += Long.BYTES) {
            if (PlatformDependent.getLong(address + offset) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Copies {@link #PAGE_SIZE} bytes from {@code src}'s reader index into the page, consuming them. */
    public void writePage(long page, ByteBuf src) {
        long address = address(checkPage(page));
        if (src.readableBytes() < PAGE_SIZE) {
            throw new IllegalArgumentException("a page write needs " + PAGE_SIZE + " readable bytes, got "
                    + src.readableBytes());
        }
        src.readBytes(NativeViews.wrap(address, PAGE_SIZE));
    }

    /**
     * Copies the page from {@code src} at {@code index} (indices unchanged): the migration hot
     * path, one memory copy and no allocation when {@code src} is direct or heap-backed.
     */
    public void writePage(long page, ByteBuf src, int index) {
        long address = address(checkPage(page));
        Objects.checkFromIndexSize(index, PAGE_SIZE, src.capacity());
        if (src.hasMemoryAddress()) {
            PlatformDependent.copyMemory(src.memoryAddress() + index, address, PAGE_SIZE);
        } else if (src.hasArray()) {
            PlatformDependent.copyMemory(src.array(), src.arrayOffset() + index, address, PAGE_SIZE);
        } else {
            src.getBytes(index, NativeViews.wrap(address, PAGE_SIZE));
        }
    }

    /**
     * Copies {@code src}'s readable bytes into the page from {@code offsetInPage} on, consuming
     * them: a page that arrived in pieces (a multifd channel's reads split it).
     */
    public void writeInPage(long page, int offsetInPage, ByteBuf src) {
        int length = src.readableBytes();
        Objects.checkFromIndexSize(offsetInPage, length, PAGE_SIZE);
        long address = address(checkPage(page)) + offsetInPage;
        if (src.hasMemoryAddress()) {
            PlatformDependent.copyMemory(src.memoryAddress() + src.readerIndex(), address, length);
            src.skipBytes(length);
        } else {
            src.readBytes(NativeViews.wrap(address, length));
        }
    }

    /** Appends the page to {@code dst} (one memory copy when {@code dst} is direct or heap-backed). */
    public void readPage(long page, ByteBuf dst) {
        long address = address(checkPage(page));
        dst.ensureWritable(PAGE_SIZE);
        int at = dst.writerIndex();
        if (dst.hasMemoryAddress()) {
            PlatformDependent.copyMemory(address, dst.memoryAddress() + at, PAGE_SIZE);
        } else if (dst.hasArray()) {
            PlatformDependent.copyMemory(address, dst.array(), dst.arrayOffset() + at, PAGE_SIZE);
        } else {
            dst.setBytes(at, NativeViews.wrap(address, PAGE_SIZE));
        }
        dst.writerIndex(at + PAGE_SIZE);
    }

    /** Fills the page with zeros; a page that already reads zero is left untouched (and uncommitted). */
    public void zeroPage(long page) {
        if (!isZeroPage(page)) {
            PlatformDependent.setMemory(address(page), PAGE_SIZE, (byte) 0);
        }
    }

    /** Stores one long in native byte order; the workload's write path, bounds checked by the caller. */
    void putLong(long page, int offsetInPage, long value) {
        PlatformDependent.putLong(address(page) + offsetInPage, value);
    }

    /**
     * CRC-32C of the page as it is now, read in place (a page the workload writes meanwhile may
     * read torn: that is a change either way).
     */
    int crc32c(long page) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(nioView(checkPage(page), 1));
        return (int) crc.getValue();
    }

    /** Feeds the whole block, in page order, to each digest. */
    void digest(MessageDigest... digests) {
        memory.checkOpen();
        for (int chunk = 0; chunk < chunkAddresses.length; chunk++) {
            long chunkBytes = Math.min(CHUNK_BYTES, sizeBytes - ((long) chunk << CHUNK_SHIFT));
            // In 1 MiB pieces, so that all digests read a piece while it is still in cache.
            for (long offset = 0; offset < chunkBytes; offset += 1 << 20) {
                ByteBuffer piece = NativeViews.wrap(chunkAddresses[chunk] + offset,
                        (int) Math.min(1 << 20, chunkBytes - offset));
                for (MessageDigest digest : digests) {
                    digest.update(piece.clear());
                }
            }
        }
    }

    private long checkPage(long page) {
        Objects.checkIndex(page, pageCount);
        memory.checkOpen();
        return page;
    }

    private ByteBuffer nioView(long firstPage, int pages) {
        return NativeViews.wrap(address(firstPage), pages << PAGE_SHIFT);
    }

    private long address(long page) {
        return chunkAddresses[(int) (page >>> PAGES_PER_CHUNK_SHIFT)] + ((page & PAGE_IN_CHUNK_MASK) << PAGE_SHIFT);
    }

    @Override
    public String toString() {
        return "RamBlock[" + name + ", " + sizeBytes + " bytes]";
    }
}
