package io.ferry.inspect;

import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.Xbzrle;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.Closeable;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --extract DIR}: each RAM block as {@code DIR/<name>.ram}, each disk of the block section
 * as {@code DIR/<name>.img}, with every byte where the stream put it last. Files are sparse:
 * a RAM file has its block's size from the start, an image grows to its highest chunk, and
 * zero pages or chunks leave holes unless they replace data written before. An existing file is
 * never overwritten.
 *
 * <p>Called from the decoder's listener, which cannot throw checked exceptions: I/O errors leave
 * as {@link UncheckedIOException}.
 */
final class Extraction implements Closeable {

    private static final int PAGE = StreamFormat.PAGE_SIZE;
    private static final int CHUNK = StreamFormat.BLOCK_CHUNK_BYTES;

    private final Path dir;
    private final List<Path> written = new ArrayList<>();
    private final List<FileChannel> ramFiles = new ArrayList<>();
    /** Per RAM block, the pages holding data: a later ZERO record there must write zeros. */
    private final List<BitSet> ramPagesWithData = new ArrayList<>();
    private final Map<String, Image> images = new LinkedHashMap<>();
    /** The disk and offset of the chunk whose data {@link #blockData} is writing. */
    private Image chunkImage;
    private long chunkOffset;

    /** A disk image being written; {@code raw} extends it sparsely, which a FileChannel cannot. */
    private record Image(RandomAccessFile raw, FileChannel file, BitSet chunksWithData) {
    }

    Extraction(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
    }

    /** The files created so far, in creation order. */
    List<Path> written() {
        return List.copyOf(written);
    }

    void ramBlocks(List<RamBlockInfo> blocks) {
        for (RamBlockInfo block : blocks) {
            ramFiles.add(create(block.idstr(), ".ram", block.usedLength()).getChannel());
            ramPagesWithData.add(new BitSet());
        }
    }

    void page(int block, long pageIndex, ByteBuf data) {
        write(ramFiles.get(block), pageIndex * PAGE, data.nioBuffer());
        ramPagesWithData.get(block).set(Math.toIntExact(pageIndex));
    }

    void zeroPage(int block, long pageIndex, int fill) {
        BitSet withData = ramPagesWithData.get(block);
        int page = Math.toIntExact(pageIndex);
        if (fill != 0 || withData.get(page)) {
            ByteBuffer filled = ByteBuffer.allocate(PAGE);
            Arrays.fill(filled.array(), (byte) fill);
            write(ramFiles.get(block), pageIndex * PAGE, filled);
            withData.set(page, fill != 0);
        }
    }

    /** Applies an XBZRLE delta to the page as the file holds it, as the destination applies it to memory. */
    void xbzrlePage(int block, long pageIndex, ByteBuf encoding) {
        FileChannel file = ramFiles.get(block);
        ByteBuffer page = ByteBuffer.allocate(PAGE);
        try {
            while (page.hasRemaining() && file.read(page, pageIndex * PAGE + page.position()) >= 0) {
                // a hole reads as zeros
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Xbzrle.decode(encoding.duplicate(), Unpooled.wrappedBuffer(page.array()));
        write(file, pageIndex * PAGE, ByteBuffer.wrap(page.array()));
        ramPagesWithData.get(block).set(Math.toIntExact(pageIndex));
    }

    void blockChunk(String device, long byteOffset, boolean zero) {
        Image image = images.computeIfAbsent(device, name -> {
            RandomAccessFile raw = create(name, ".img", 0);
            return new Image(raw, raw.getChannel(), new BitSet());
        });
        int chunk = Math.toIntExact(byteOffset / CHUNK);
        try {
            if (zero && image.chunksWithData().get(chunk)) {
                write(image.file(), byteOffset, ByteBuffer.allocate(CHUNK));
            }
            if (image.raw().length() < byteOffset + CHUNK) {
                image.raw().setLength(byteOffset + CHUNK);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        image.chunksWithData().set(chunk, !zero);
        chunkImage = image;
        chunkOffset = byteOffset;
    }

    void blockData(long offsetInChunk, ByteBuf data) {
        write(chunkImage.file(), chunkOffset + offsetInChunk, data.nioBuffer());
    }

    /** A new, sparse file of {@code length} bytes; closing its channel closes it. */
    private RandomAccessFile create(String name, String suffix, long length) {
        Path file = dir.resolve(fileName(name) + suffix);
        try {
            Files.createFile(file);
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException(new FileAlreadyExistsException(file.toString(), null,
                    "exists; ferry inspect --extract does not overwrite"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        written.add(file);
        try {
            RandomAccessFile raw = new RandomAccessFile(file.toFile(), "rw");
            raw.setLength(length);
            return raw;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A stream name as one file name: '/' (QEMU's "/rom@etc/acpi/tables") and NUL cannot be in one. */
    static String fileName(String name) {
        String safe = name.replace('/', '_').replace('\0', '_');
        return safe.equals(".") || safe.equals("..") ? "_" + safe : safe;
    }

    private static void write(FileChannel file, long position, ByteBuffer bytes) {
        try {
            long at = position;
            while (bytes.hasRemaining()) {
                at += file.write(bytes, at);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        List<FileChannel> all = new ArrayList<>(ramFiles);
        images.values().forEach(image -> all.add(image.file()));
        for (FileChannel file : all) {
            try {
                file.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
