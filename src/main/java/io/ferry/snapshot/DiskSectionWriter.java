package io.ferry.snapshot;

import io.ferry.guest.DiskImage;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.Map;

/**
 * QEMU's {@code block} section as a save writes it: the records the migration engine sends (a
 * DEVICE_BLOCK of 1 MiB per chunk, the last one padded, an all-zero chunk as a header without
 * data, PROGRESS 100, EOS), but all in a single START section instead of START, PARTs and END.
 *
 * <pre>
 *   START id "block" 0 1 | per disk, per chunk: DEVICE_BLOCK [+ 1 MiB] or DEVICE_BLOCK|ZERO_BLOCK |
 *                        | PROGRESS 100 | EOS | footer
 * </pre>
 *
 * <p>Why one section: the file's vmdesc describes {@code block} as one opaque buffer (QEMU's
 * {@code analyze-migration.py} has no reader for block records), and a reader applies that one
 * size to every section with the block's id. QEMU's and Ferry's loaders take block records in
 * any of its sections.
 */
final class DiskSectionWriter {

    private static final int CHUNK = StreamFormat.BLOCK_CHUNK_BYTES;

    private final SaveFile file;
    private final int sectionId;

    DiskSectionWriter(SaveFile file, int sectionId) {
        this.file = file;
        this.sectionId = sectionId;
    }

    /**
     * The section with every chunk of {@code images} (device name → image, in stream order).
     *
     * @return the payload's bytes, between section header and footer, for the vmdesc
     */
    long write(Map<String, DiskImage> images) throws IOException {
        StreamEncoder.sectionStart(file.out(), StreamFormat.SECTION_START, sectionId, StreamFormat.BLOCK_SECTION, 0,
                StreamFormat.BLOCK_SECTION_VERSION);
        long payloadStart = file.position();
        for (Map.Entry<String, DiskImage> disk : images.entrySet()) {
            for (long offset = 0; offset < disk.getValue().sizeBytes(); offset += CHUNK) {
                chunk(disk.getKey(), disk.getValue(), offset);
                file.writeIfFull();
            }
        }
        StreamEncoder.blockProgress(file.out(), 100);
        StreamEncoder.blockEos(file.out());
        long payloadBytes = file.position() - payloadStart;
        StreamEncoder.footer(file.out(), sectionId);
        return payloadBytes;
    }

    /** One chunk, read into the stream after its header; replaced by a zero record if it reads all zero. */
    private void chunk(String device, DiskImage image, long offset) throws IOException {
        ByteBuf out = file.out();
        int length = (int) Math.min(CHUNK, image.sizeBytes() - offset);
        int header = out.writerIndex();
        StreamEncoder.blockChunkHeader(out, device, offset);
        int data = out.writerIndex();
        for (int read = 0; read < length; ) {
            int n = out.writeBytes(image.readChannel(), offset + read, length - read);
            if (n < 0) {
                throw new IOException("image of disk " + device + " ended early at byte " + (offset + read));
            }
            read += n;
        }
        out.writeZero(CHUNK - length);   // QEMU's chunks are whole: the last one is padded
        if (isZero(out, data, CHUNK)) {
            out.writerIndex(header);
            StreamEncoder.blockZeroChunk(out, device, offset);
        }
    }

    private static boolean isZero(ByteBuf buf, int from, int length) {
        for (int i = from; i < from + length; i += Long.BYTES) {
            if (buf.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
