package io.ferry.inspect;

import io.ferry.wire.RamFlag;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * What one stream file holds, as {@link StreamInspector} read it: plain data, printed as text or
 * JSON by {@link InspectCommand}. Byte offsets are offsets in the file.
 *
 * @param fileBytes         the file's length
 * @param header            magic and version (the decoder reads no other)
 * @param machineType       the configuration section's machine type
 * @param ramBlocks         the {@code ram} START's block list, with the page records each block got
 * @param ramRecords        RAM records by flag over all blocks; EOS counts the ends of ram sections.
 *                          CONTINUE is not counted: the decoder reports a page, not its flag bits
 * @param iterativeSections {@code ram} and {@code block}: their START/PART/END sections
 * @param deviceSections    the FULL sections, in stream order
 * @param disks             the {@code block} section's disks, empty without one
 * @param commands          COMMAND sections by name (OPEN_RETURN_PATH, PING, POSTCOPY_...)
 * @param eofOffset         where the EOF byte is
 * @param vmDescription     the JSON after EOF, or null if the stream has none (a migration's stream has none;
 *                          Ferry's saved files and QEMU's have one)
 * @param extractedFiles    the files {@code --extract} wrote, empty otherwise
 */
public record StreamSummary(long fileBytes, Header header, String machineType, List<RamBlock> ramBlocks,
                            Map<RamFlag, Long> ramRecords, List<IterativeSection> iterativeSections,
                            List<DeviceSection> deviceSections, List<Disk> disks, Map<String, Long> commands,
                            long eofOffset, VmDescription vmDescription, List<String> extractedFiles) {

    /** {@code magic} as on the wire (0x5145564D, "QEVM"). */
    public record Header(int magic, int version) {
    }

    /** A RAM block and the records that filled it. */
    public record RamBlock(String name, long bytes, long pages, long zeroPages, long xbzrlePages) {
    }

    /**
     * An iterative section ({@code ram}, {@code block}): how many of each kind, and their bytes from
     * section header to footer.
     */
    public record IterativeSection(int id, String name, int version, Map<SectionKind, Long> sections, long bytes) {
    }

    /** A device's section; {@code bytes} is its state without header and footer. */
    public record DeviceSection(int id, SectionKind kind, String name, int instance, int version, long bytes) {
    }

    /**
     * A disk of the {@code block} section. The stream does not carry a disk's size: {@code bytes} is
     * the end of its highest chunk, so the last 1 MiB chunk's padding is counted.
     */
    public record Disk(String name, long bytes, long chunks, long zeroChunks) {
    }

    /** The JSON description after EOF: the offset of its 0x06 byte, the JSON's length, the JSON. */
    public record VmDescription(long offset, int bytes, JsonNode json) {
    }
}
