package io.ferry.inspect;

import io.ferry.inspect.StreamSummary.DeviceSection;
import io.ferry.inspect.StreamSummary.Disk;
import io.ferry.inspect.StreamSummary.IterativeSection;
import io.ferry.inspect.StreamSummary.RamBlock;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.RamFlag;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Counts what the decoder reports, for a {@link StreamSummary}, and hands the bytes to an
 * {@link Extraction} when there is one. Takes everything a stream may carry — post-copy commands,
 * XBZRLE pages, multifd flushes, disks — since it only looks.
 */
final class SummaryListener implements StreamListener {

    private static final String FERRY_SECTION_PREFIX = "ferry/";

    private final Map<String, DeviceSectionFormat> deviceFormats;
    private final Extraction extraction; // null: not extracting
    /** The decoder's position: bytes consumed, so the offset of what it reads next. */
    private LongSupplier position = () -> 0;

    String machineType;
    private List<RamBlockInfo> blocks = List.of();
    private long[] pages = new long[0];
    private long[] zeroPages = new long[0];
    private long[] xbzrlePages = new long[0];
    final Map<RamFlag, Long> ramRecords = new EnumMap<>(RamFlag.class);
    private final Map<String, Iterative> iterative = new LinkedHashMap<>();
    final List<DeviceSection> deviceSections = new ArrayList<>();
    private final Map<String, DiskCount> disks = new LinkedHashMap<>();
    final Map<String, Long> commands = new LinkedHashMap<>();
    long eofOffset = -1;

    // The section under way.
    private int sectionId;
    private SectionKind sectionKind;
    private long sectionStart;

    private static final class Iterative {
        final int id;
        final int version;
        final Map<SectionKind, Long> sections = new EnumMap<>(SectionKind.class);
        long bytes;

        Iterative(int id, int version) {
            this.id = id;
            this.version = version;
        }
    }

    private static final class DiskCount {
        long bytes;
        long chunks;
        long zeroChunks;
    }

    SummaryListener(Map<String, DeviceSectionFormat> deviceFormats, Extraction extraction) {
        this.deviceFormats = deviceFormats;
        this.extraction = extraction;
        for (RamFlag flag : List.of(RamFlag.MEM_SIZE, RamFlag.PAGE, RamFlag.ZERO, RamFlag.XBZRLE, RamFlag.EOS)) {
            ramRecords.put(flag, 0L);
        }
    }

    void readPositionFrom(LongSupplier decoderPosition) {
        this.position = decoderPosition;
    }

    List<RamBlock> ramBlocks() {
        List<RamBlock> list = new ArrayList<>();
        for (int b = 0; b < blocks.size(); b++) {
            list.add(new RamBlock(blocks.get(b).idstr(), blocks.get(b).usedLength(), pages[b], zeroPages[b],
                    xbzrlePages[b]));
        }
        return list;
    }

    List<IterativeSection> iterativeSections() {
        List<IterativeSection> list = new ArrayList<>();
        iterative.forEach((name, s) -> list.add(new IterativeSection(s.id, name, s.version,
                Collections.unmodifiableMap(new EnumMap<>(s.sections)),
                s.bytes)));
        return list;
    }

    List<Disk> disks() {
        List<Disk> list = new ArrayList<>();
        disks.forEach((name, d) -> list.add(new Disk(name, d.bytes, d.chunks, d.zeroChunks)));
        return list;
    }

    // ---------------------------------------------------------------- sections

    @Override
    public void configuration(String machineType) {
        this.machineType = machineType;
    }

    @Override
    public void sectionHeader(byte type, int sectionId, String idstr) {
        this.sectionId = sectionId;
        this.sectionKind = SectionKind.of(type);
        int headerBytes = sectionKind == SectionKind.START || sectionKind == SectionKind.FULL
                ? 1 + Integer.BYTES + 1 + idstr.getBytes(StandardCharsets.UTF_8).length + 2 * Integer.BYTES
                : 1 + Integer.BYTES;
        this.sectionStart = position.getAsLong() - headerBytes;
        if (sectionKind == SectionKind.START) {
            // the decoder takes no other version of its iterative sections
            int version = idstr.equals(StreamFormat.RAM_SECTION) ? StreamFormat.RAM_SECTION_VERSION
                    : StreamFormat.BLOCK_SECTION_VERSION;
            iterative.put(idstr, new Iterative(sectionId, version));
        }
    }

    /** A ram or block section's footer was read: the decoder is past it. */
    private void iterativeEnded(String idstr, byte type) {
        Iterative section = iterative.get(idstr);
        section.sections.merge(SectionKind.of(type), 1L, Long::sum);
        section.bytes += position.getAsLong() - sectionStart;
    }

    @Override
    public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
        if (idstr.startsWith(FERRY_SECTION_PREFIX)) {
            return DeviceSectionFormat.lengthPrefixed(); // Ferry's own sections: be32 length + bytes
        }
        return deviceFormats.get(TrailingVmDescription.key(idstr, instanceId));
    }

    @Override
    public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
        deviceSections.add(new DeviceSection(sectionId, sectionKind, idstr, instanceId, versionId,
                payload.readableBytes()));
    }

    @Override
    public void endOfStream() {
        eofOffset = position.getAsLong() - 1;
    }

    // ---------------------------------------------------------------- RAM

    @Override
    public void ramBlocks(List<RamBlockInfo> blocks) {
        this.blocks = List.copyOf(blocks);
        pages = new long[blocks.size()];
        zeroPages = new long[blocks.size()];
        xbzrlePages = new long[blocks.size()];
        ramRecords.merge(RamFlag.MEM_SIZE, 1L, Long::sum);
        if (extraction != null) {
            extraction.ramBlocks(blocks);
        }
    }

    @Override
    public void page(int blockIndex, long pageIndex, ByteBuf data) {
        pages[blockIndex]++;
        ramRecords.merge(RamFlag.PAGE, 1L, Long::sum);
        if (extraction != null) {
            extraction.page(blockIndex, pageIndex, data);
        }
    }

    @Override
    public void zeroPage(int blockIndex, long pageIndex, int fill) {
        zeroPages[blockIndex]++;
        ramRecords.merge(RamFlag.ZERO, 1L, Long::sum);
        if (extraction != null) {
            extraction.zeroPage(blockIndex, pageIndex, fill);
        }
    }

    @Override
    public void xbzrlePage(int blockIndex, long pageIndex, ByteBuf encoding) {
        xbzrlePages[blockIndex]++;
        ramRecords.merge(RamFlag.XBZRLE, 1L, Long::sum);
        if (extraction != null) {
            extraction.xbzrlePage(blockIndex, pageIndex, encoding);
        }
    }

    @Override
    public void endOfRamSection(byte sectionType) {
        ramRecords.merge(RamFlag.EOS, 1L, Long::sum);
        iterativeEnded(StreamFormat.RAM_SECTION, sectionType);
    }

    @Override
    public boolean multifdFlush() {
        ramRecords.merge(RamFlag.MULTIFD_FLUSH, 1L, Long::sum);
        return true; // a file has no multifd channels to wait for
    }

    // ---------------------------------------------------------------- disks

    @Override
    public void blockSectionStart() {
    }

    @Override
    public void blockChunk(String device, long byteOffset, boolean zero) {
        DiskCount disk = disks.computeIfAbsent(device, name -> new DiskCount());
        disk.chunks++;
        disk.zeroChunks += zero ? 1 : 0;
        disk.bytes = Math.max(disk.bytes, byteOffset + StreamFormat.BLOCK_CHUNK_BYTES);
        if (extraction != null) {
            extraction.blockChunk(device, byteOffset, zero);
        }
    }

    @Override
    public void blockData(long offsetInChunk, ByteBuf data) {
        if (extraction != null) {
            extraction.blockData(offsetInChunk, data);
        }
    }

    @Override
    public void endOfBlockSection(byte sectionType) {
        iterativeEnded(StreamFormat.BLOCK_SECTION, sectionType);
    }

    // ---------------------------------------------------------------- commands

    private void command(String name) {
        commands.merge(name, 1L, Long::sum);
    }

    @Override
    public void openReturnPath() {
        command("OPEN_RETURN_PATH");
    }

    @Override
    public void ping(int value) {
        command("PING");
    }

    @Override
    public void postcopyAdvise() {
        command("POSTCOPY_ADVISE");
    }

    @Override
    public void postcopyDiscard(int blockIndex, long firstPage, long pages) {
        command("POSTCOPY_RAM_DISCARD range");
    }

    @Override
    public void postcopyListen() {
        command("POSTCOPY_LISTEN");
    }

    @Override
    public void postcopyRun() {
        command("POSTCOPY_RUN");
    }

    @Override
    public void recvBitmap(int blockIndex) {
        command("RECV_BITMAP");
    }

    @Override
    public void postcopyResume() {
        command("POSTCOPY_RESUME");
    }
}
