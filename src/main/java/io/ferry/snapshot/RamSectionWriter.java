package io.ferry.snapshot;

import io.ferry.guest.RamBlock;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import java.io.IOException;
import java.util.List;

/**
 * QEMU's {@code ram} section as a save writes it: a START with the block list, then every page of
 * every block exactly once — PAGE with its bytes, or ZERO — in one END section, as QEMU's last
 * round would if it had not sent them before.
 *
 * <pre>
 *   START id "ram" 0 4 | MEM_SIZE block list | EOS | footer
 *   END id             | PAGE/ZERO records, CONTINUE while the block stays the same | EOS | footer
 * </pre>
 *
 * <p>The {@code ram} section is not in the vmdesc (see {@link io.ferry.wire.VmDescription}).
 */
final class RamSectionWriter {

    private static final int PAGE = StreamFormat.PAGE_SIZE;

    private final SaveFile file;
    private final int sectionId;
    private final RamRecordWriter records = new RamRecordWriter();

    RamSectionWriter(SaveFile file, int sectionId) {
        this.file = file;
        this.sectionId = sectionId;
    }

    /** The START section: the blocks the destination must have, in this order and size. */
    void start(List<RamBlockInfo> blocks) throws IOException {
        StreamEncoder.sectionStart(file.out(), StreamFormat.SECTION_START, sectionId, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(file.out(), blocks);
        StreamEncoder.ramEos(file.out());
        StreamEncoder.footer(file.out(), sectionId);
        file.writeIfFull();
    }

    /** Opens the END section that carries the pages. */
    void beginPages() {
        StreamEncoder.sectionPart(file.out(), StreamFormat.SECTION_END, sectionId);
    }

    /** Every page of {@code source}, as the pages of block {@code blockName} from byte {@code firstOffset} on. */
    void pages(String blockName, long firstOffset, RamBlock source) throws IOException {
        for (long page = 0; page < source.pageCount(); page++) {
            long offset = firstOffset + page * PAGE;
            if (source.isZeroPage(page)) {
                records.zeroPage(file.out(), blockName, offset);
            } else {
                records.pageHeader(file.out(), blockName, offset);
                source.readPage(page, file.out());
            }
            file.writeIfFull();
        }
    }

    /** A ZERO record for every page of block {@code blockName}, {@code bytes} long. */
    void zeroPages(String blockName, long bytes) throws IOException {
        for (long offset = 0; offset < bytes; offset += PAGE) {
            records.zeroPage(file.out(), blockName, offset);
            file.writeIfFull();
        }
    }

    /** Closes the END section. */
    void endPages() {
        StreamEncoder.ramEos(file.out());
        StreamEncoder.footer(file.out(), sectionId);
    }
}
