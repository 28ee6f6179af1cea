package io.ferry.inspect;

import io.ferry.wire.MalformedStreamFileException;
import io.ferry.inspect.StreamSummary.Header;
import io.ferry.inspect.StreamSummary.VmDescription;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFile;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * Reads a stream file through the migration's own {@link StreamDecoder}, in chunks so that a
 * file of many GiB never sits in memory, and sums up what it reported.
 *
 * <p>QEMU's device sections can be read only with the vmdesc JSON that follows EOF, so the file's
 * tail is read first ({@link TrailingVmDescription}); Ferry's own {@code ferry/...} sections are
 * length-prefixed and need nothing.
 */
public final class StreamInspector {


    private final DecoderLimits limits;

    public StreamInspector() {
        this(DecoderLimits.defaults());
    }

    StreamInspector(DecoderLimits limits) {
        this.limits = limits;
    }

    /**
     * What {@code file} holds.
     *
     * @param extractTo where to write RAM blocks and disk images, or null
     * @throws MalformedStreamFileException the decoder's reason and where in the file
     * @throws IOException              the file cannot be read, or an extracted file cannot be written
     *                                  (or exists already)
     */
    public StreamSummary inspect(Path file, Path extractTo) throws IOException, MalformedStreamFileException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ);
             Extraction extraction = extractTo == null ? null : new Extraction(extractTo)) {
            long size = in.size();
            Optional<TrailingVmDescription> trailing = TrailingVmDescription.find(in, limits.maxVmDescriptionBytes());
            Map<String, DeviceSectionFormat> formats = trailing.map(TrailingVmDescription::deviceFormats)
                    .orElse(Map.of());
            SummaryListener listener = new SummaryListener(formats, extraction);
            StreamDecoder decoder = new StreamDecoder(listener, limits);
            listener.readPositionFrom(decoder::position);
            try {
                StreamFile.decode(in, decoder);
            } catch (StreamFormatException e) {
                throw malformed(decoder.position(), e, trailing.isEmpty());
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            VmDescription description = vmDescription(in, listener.eofOffset, trailing);
            return new StreamSummary(size, new Header(StreamFormat.MAGIC, StreamFormat.VERSION), listener.machineType,
                    listener.ramBlocks(), Collections.unmodifiableMap(new EnumMap<>(listener.ramRecords)),
                    listener.iterativeSections(), List.copyOf(listener.deviceSections), listener.disks(),
                    Map.copyOf(listener.commands), listener.eofOffset, description,
                    extraction == null ? List.of() : extraction.written().stream().map(Path::toString).toList());
        }
    }


    private static MalformedStreamFileException malformed(long offset, StreamFormatException e,
                                                      boolean withoutDescription) {
        String reason = StreamFile.reason(e);
        if (withoutDescription && reason.startsWith("Unknown savevm section")) {
            reason += "; the file ends without a vmdesc JSON to describe QEMU's device sections";
        }
        return new MalformedStreamFileException(offset, reason, e);
    }

    /**
     * The vmdesc after the EOF byte at {@code eofOffset}, or null if EOF is the file's last byte. The
     * decoder checked its type byte and length limit; it does not keep the JSON, so it is read here,
     * from the tail already read when it was found there.
     */
    private VmDescription vmDescription(FileChannel in, long eofOffset, Optional<TrailingVmDescription> trailing)
            throws IOException, MalformedStreamFileException {
        long at = eofOffset + 1;
        if (at >= in.size()) {
            return null;
        }
        if (trailing.isPresent() && trailing.get().offset() == at) {
            return new VmDescription(at, trailing.get().length(), trailing.get().tree());
        }
        ByteBuffer frame = read(in, at, 1 + Integer.BYTES);
        long length = Integer.toUnsignedLong(frame.getInt(1));
        if (at + frame.capacity() + length != in.size()) {
            throw new MalformedStreamFileException(in.size(), "the vmdesc at byte " + at + " announces " + length
                    + " bytes of JSON, the file holds " + (in.size() - at - frame.capacity()), null);
        }
        byte[] json = read(in, at + frame.capacity(), (int) length).array();
        JsonNode tree = TrailingVmDescription.parse(json).orElseThrow(() -> new MalformedStreamFileException(
                at + frame.capacity(), "the vmdesc is not a JSON object", null));
        return new VmDescription(at, json.length, tree);
    }

    private static ByteBuffer read(FileChannel in, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (in.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("file ended at byte " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }
}
