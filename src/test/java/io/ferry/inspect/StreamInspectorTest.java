package io.ferry.inspect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.inspect.StreamSummary.DeviceSection;
import io.ferry.inspect.StreamSummary.Disk;
import io.ferry.inspect.StreamSummary.RamBlock;
import io.ferry.migration.FerrySections;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.RamFlag;
import io.ferry.wire.RamRecordWriter;
import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamInspectorTest {

    private static final int PAGE = StreamFormat.PAGE_SIZE;
    private static final int CHUNK = StreamFormat.BLOCK_CHUNK_BYTES;

    @TempDir
    Path dir;

    private final StreamInspector inspector = new StreamInspector();

    @Test
    void none2MListsItsBlockRecordsSectionsAndVmDescription() throws Exception {
        Path file = QemuFiles.file(QemuFiles.NONE_2M);

        StreamSummary summary = inspector.inspect(file, null);

        assertThat(summary.fileBytes()).isEqualTo(1053707);
        assertThat(summary.header()).isEqualTo(new StreamSummary.Header(0x5145564D, 3));
        assertThat(summary.machineType()).isEqualTo("none");
        assertThat(summary.ramBlocks()).containsExactly(new RamBlock("m0", 2 << 20, 256, 256, 0));
        assertThat(summary.ramRecords()).containsEntry(RamFlag.PAGE, 256L).containsEntry(RamFlag.ZERO, 256L)
                .containsEntry(RamFlag.EOS, 3L).containsEntry(RamFlag.MEM_SIZE, 1L).containsEntry(RamFlag.XBZRLE, 0L);
        assertThat(summary.iterativeSections()).singleElement().satisfies(ram -> {
            assertThat(ram.name()).isEqualTo("ram");
            assertThat(ram.version()).isEqualTo(4);
            assertThat(ram.sections()).containsExactly(Map.entry(SectionKind.START, 1L),
                    Map.entry(SectionKind.PART, 1L), Map.entry(SectionKind.END, 1L));
            // 256 page records of a page each, at least
            assertThat(ram.bytes()).isGreaterThan(256L * PAGE).isLessThan(summary.eofOffset());
        });
        assertThat(summary.deviceSections()).extracting(DeviceSection::kind, DeviceSection::name,
                        DeviceSection::instance, DeviceSection::version, DeviceSection::bytes)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(SectionKind.FULL, "timer", 0, 2, 24L),
                        org.assertj.core.groups.Tuple.tuple(SectionKind.FULL, "globalstate", 0, 1, 104L));
        assertThat(summary.disks()).isEmpty();
        assertThat(summary.vmDescription()).isNotNull();
        assertThat(summary.vmDescription().offset()).isEqualTo(summary.eofOffset() + 1);
        assertThat(summary.vmDescription().offset() + 5 + summary.vmDescription().bytes()).isEqualTo(summary.fileBytes());
        assertThat(summary.vmDescription().json().get("devices")).extracting(d -> d.get("name").asString())
                .containsExactly("timer", "globalstate");
    }

    @Test
    void pc64MListsItsBlocksAndThirtyDevicesDescribedByTheVmDescription() throws Exception {
        Path file = QemuFiles.file(QemuFiles.PC_64M);

        StreamSummary summary = inspector.inspect(file, null);

        assertThat(summary.machineType()).isEqualTo("pc-i440fx-7.2");
        assertThat(summary.ramBlocks()).extracting(RamBlock::name).containsExactly("pc.ram", "/rom@etc/acpi/tables",
                "pc.bios", "pc.rom", "/rom@etc/table-loader", "/rom@etc/acpi/rsdp");
        assertThat(summary.ramBlocks().get(0).bytes()).isEqualTo(64L << 20);
        // every page of every block sent once, as a PAGE or a ZERO record
        for (RamBlock block : summary.ramBlocks()) {
            assertThat(block.pages() + block.zeroPages()).as(block.name()).isEqualTo(block.bytes() / PAGE);
        }
        assertThat(summary.ramBlocks().get(0).pages()).isGreaterThanOrEqualTo(16); // the 64 KiB blob at least
        assertThat(summary.deviceSections()).hasSize(30).allSatisfy(d -> assertThat(d.kind()).isEqualTo(SectionKind.FULL));
        assertThat(summary.deviceSections()).extracting(DeviceSection::name).contains("timer", "cpu", "globalstate");
        assertThat(summary.deviceSections()).extracting(DeviceSection::id).doesNotHaveDuplicates();
        assertThat(summary.vmDescription().json().get("devices")).hasSize(30);
    }

    @Test
    void extractWritesTheRamBlocksWithTheManifestsChecksums() throws Exception {
        Path none = QemuFiles.file(QemuFiles.NONE_2M);
        Path pc = QemuFiles.file(QemuFiles.PC_64M);

        StreamSummary noneSummary = inspector.inspect(none, dir.resolve("none"));
        inspector.inspect(pc, dir.resolve("pc"));

        Path m0 = dir.resolve("none/m0.ram");
        assertThat(noneSummary.extractedFiles()).containsExactly(m0.toString());
        assertThat(Files.size(m0)).isEqualTo(2 << 20);
        assertThat(QemuFiles.sha256(m0, 0, 2 << 20)).isEqualTo(QemuFiles.NONE_2M_M0_SHA256);
        Path pcRam = dir.resolve("pc/pc.ram.ram");
        assertThat(Files.size(pcRam)).isEqualTo(64L << 20);
        assertThat(QemuFiles.sha256(pcRam, 0x100000, 0x10000)).isEqualTo(QemuFiles.PC_64M_BLOB_SHA256);
        assertThat(dir.resolve("pc/_rom@etc_acpi_tables.ram")).exists();
    }

    @Test
    void extractRefusesToOverwriteAFile() throws Exception {
        Path none = QemuFiles.file(QemuFiles.NONE_2M);
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("m0.ram"), "keep me");

        assertThatThrownBy(() -> inspector.inspect(none, out)).isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining("m0.ram").hasMessageContaining("does not overwrite");
        assertThat(out.resolve("m0.ram")).hasContent("keep me");
    }

    /**
     * A stream as Ferry's source engine lays it out for a synthetic guest (the engine's own encoders:
     * ram START with its block list, page records, the block section for a copied disk, Ferry's
     * FULL sections, EOF, no vmdesc).
     */
    @Test
    void ferryWrittenStreamListsFerrysSectionsAndExtractsWhatWasSent() throws Exception {
        Random random = new Random(16);
        byte[] ram = new byte[8 * PAGE];
        random.nextBytes(ram);
        Arrays.fill(ram, 2 * PAGE, 4 * PAGE, (byte) 0);
        byte[] disk = new byte[CHUNK + 4096];  // two chunks; the second padded
        random.nextBytes(disk);
        byte[] state = "synthetic device state".getBytes();
        Path file = dir.resolve("ferry.stream");
        Files.write(file, ferryStream(ram, disk, state));

        StreamSummary summary = inspector.inspect(file, dir.resolve("x"));

        assertThat(summary.machineType()).isEqualTo(StreamFormat.MACHINE_TYPE);
        assertThat(summary.ramBlocks()).containsExactly(new RamBlock("pc.ram", 8L * PAGE, 6, 3, 0),
                new RamBlock("vga.vram", 2L * PAGE, 0, 2, 0));
        assertThat(summary.iterativeSections()).extracting(s -> s.name() + " " + s.id() + " " + s.sections())
                .containsExactly("ram 2 {START=1, PART=2, END=1}", "block 3 {START=1, END=1}");
        assertThat(summary.deviceSections()).extracting(d -> d.id() + " " + d.name() + " v" + d.version() + " "
                        + d.bytes())
                .containsExactly("4 ferry/device-state v1 " + state.length, "5 ferry/runstate v1 11",
                        "6 ferry/verify v1 " + (4 + "aa:bb:cc".length()));
        assertThat(summary.disks()).containsExactly(new Disk("vda", 3L * CHUNK, 3, 1));
        assertThat(summary.vmDescription()).isNull();
        assertThat(summary.eofOffset()).isEqualTo(summary.fileBytes() - 1);
        byte[] extractedRam = Files.readAllBytes(dir.resolve("x/pc.ram.ram"));
        byte[] expected = ram.clone();
        Arrays.fill(expected, 5 * PAGE, 6 * PAGE, (byte) 0); // sent again as ZERO in the second round
        assertThat(extractedRam).isEqualTo(expected);
        byte[] image = Files.readAllBytes(dir.resolve("x/vda.img"));
        assertThat(image).hasSize(3 * CHUNK);
        assertThat(Arrays.copyOf(image, disk.length)).isEqualTo(disk);
        assertThat(Arrays.copyOfRange(image, disk.length, 3 * CHUNK)).containsOnly(0);
    }

    private static byte[] ferryStream(byte[] ram, byte[] disk, byte[] state) {
        ByteBuf out = Unpooled.buffer();
        RamRecordWriter records = new RamRecordWriter();
        StreamEncoder.header(out, StreamFormat.MACHINE_TYPE);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 2, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(out, List.of(new RamBlockInfo("pc.ram", 8L * PAGE),
                new RamBlockInfo("vga.vram", 2L * PAGE)));
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 3, StreamFormat.BLOCK_SECTION, 0,
                StreamFormat.BLOCK_SECTION_VERSION);
        StreamEncoder.blockEos(out);
        StreamEncoder.footer(out, 3);
        // round 1: every page
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 2);
        for (int p = 0; p < 8; p++) {
            if (p == 2 || p == 3) {
                records.zeroPage(out, "pc.ram", (long) p * PAGE);
            } else {
                records.pageHeader(out, "pc.ram", (long) p * PAGE);
                out.writeBytes(ram, p * PAGE, PAGE);
            }
        }
        records.zeroPage(out, "vga.vram", 0);
        records.zeroPage(out, "vga.vram", PAGE);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        // round 2: page 5 became zero
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 2);
        records.zeroPage(out, "pc.ram", 5L * PAGE);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        // the disk, at completion: two data chunks (the last padded) and a zero chunk
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, 3);
        StreamEncoder.blockChunkHeader(out, "vda", 0);
        out.writeBytes(disk, 0, CHUNK);
        StreamEncoder.blockChunkHeader(out, "vda", CHUNK);
        out.writeBytes(disk, CHUNK, disk.length - CHUNK);
        out.writeZero(2 * CHUNK - disk.length);
        StreamEncoder.blockZeroChunk(out, "vda", 2L * CHUNK);
        StreamEncoder.blockProgress(out, 100);
        StreamEncoder.blockEos(out);
        StreamEncoder.footer(out, 3);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_END, 2);
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        StreamEncoder.deviceState(out, 4, state);
        FerrySections.runState(out, 5, "running");
        FerrySections.verify(out, 6, new FerrySections.Digests("aa", "bb", List.of("cc")));
        StreamEncoder.eof(out);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        out.release();
        return bytes;
    }
}
