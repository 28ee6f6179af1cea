package io.ferry.snapshot;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Where a saved stream is written: encoders write into {@link #out()}, which goes to
 * {@code <file>.partial} in pieces of a few MiB, and {@link #commit()} renames that to the file.
 * A save that fails (or is closed without a commit) removes its partial file, so a reader never
 * sees half a stream under the file's name. An existing file is never overwritten.
 *
 * <p>Used by one thread.
 */
final class SaveFile implements AutoCloseable {

    /** Bytes gathered before they are written: large enough for a disk chunk and its header. */
    private static final int WRITE_AT = 4 << 20;

    private final Path file;
    private final Path partial;
    private final FileChannel channel;
    private final ByteBuf out = Unpooled.buffer(WRITE_AT + (2 << 20));
    /** Bytes already in the partial file. */
    private long written;
    private boolean committed;

    private SaveFile(Path file, Path partial, FileChannel channel) {
        this.file = file;
        this.partial = partial;
        this.channel = channel;
    }

    /** @throws FileAlreadyExistsException if {@code file} (or a partial save of it) exists */
    static SaveFile create(Path file) throws IOException {
        if (Files.exists(file)) {
            throw new FileAlreadyExistsException(file.toString(), null, "a saved stream is never overwritten");
        }
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new SaveFile(file, partial, channel);
    }

    /** The buffer encoders write into; call {@link #writeIfFull()} between elements. */
    ByteBuf out() {
        return out;
    }

    /** Stream offset of the next byte written into {@link #out()}. */
    long position() {
        return written + out.readableBytes();
    }

    /** Writes what has gathered once it is a few MiB, so memory use stays flat whatever the guest's size. */
    void writeIfFull() throws IOException {
        if (out.readableBytes() >= WRITE_AT) {
            writeOut();
        }
    }

    /** Writes the rest, forces it to storage and renames the partial file to the file. */
    void commit() throws IOException {
        writeOut();
        channel.force(true);
        channel.close();
        Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    /** Releases the buffer; without a commit, deletes the partial file. */
    @Override
    public void close() throws IOException {
        out.release();
        if (!committed) {
            try {
                channel.close();
            } finally {
                Files.deleteIfExists(partial);
            }
        }
    }

    private void writeOut() throws IOException {
        while (out.isReadable()) {
            written += out.readBytes(channel, written, out.readableBytes());
        }
        out.clear();
    }
}
