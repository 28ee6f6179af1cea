package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * What a {@link StreamDecoder} reports, in stream order, each element only once it is fully
 * received and validated. A listener refuses by throwing {@link StreamFormatException}.
 */
public interface StreamListener {

    default void configuration(String machineType) {
    }

    /** The RAM section's block list; page records may only name these blocks. */
    void ramBlocks(List<RamBlockInfo> blocks);

    /**
     * A page's {@link StreamFormat#PAGE_SIZE} bytes are {@code source[index, index + PAGE_SIZE)},
     * valid only during the call. Passed as buffer and index, not a slice, so no object is made
     * per page.
     */
    void page(int blockIndex, long pageIndex, ByteBuf source, int index);

    void zeroPage(int blockIndex, long pageIndex, int fill);

    default void endOfRamSection(byte sectionType) {
    }

    /** A FULL section's payload (valid only during the call). */
    void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload);

    void endOfStream();
}
