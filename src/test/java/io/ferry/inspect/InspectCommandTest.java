package io.ferry.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code ferry inspect} run in-process, as the CLI runs it, with its output captured. */
class InspectCommandTest {

    private static final Pattern MALFORMED = Pattern.compile("(.+): malformed at byte (\\d+): (.+)\\R");

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine command = new CommandLine(new InspectCommand());
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        return command.execute(args);
    }

    @Test
    void printsAShortAlignedSummary() {
        Path file = QemuFiles.file(QemuFiles.NONE_2M);

        int code = run(file.toString());

        assertThat(code).isZero();
        assertThat(err.toString()).isEmpty();
        assertThat(out.toString()).contains("stream      0x5145564d (QEVM) version 3, machine none\n")
                .contains("RAM blocks  1, 2097152 bytes (2 MiB)\n")
                .containsPattern("  m0  2097152 bytes \\(2 MiB\\) +256 PAGE +256 ZERO\n")
                .contains("records     ZERO 256, MEM_SIZE 1, PAGE 256, EOS 3, XBZRLE 0\n")
                .containsPattern("\\s+\\d+  FULL   timer\\s+0\\s+2  24\n")
                .containsPattern("\\s+\\d+  FULL   globalstate\\s+0\\s+1  104\n")
                .containsPattern("vmdesc      at byte \\d+, \\d+ bytes of JSON, 2 devices described\n");
    }

    @Test
    void jsonParsesBackWithTheSameFigures() throws Exception {
        Path file = QemuFiles.file(QemuFiles.PC_64M);
        StreamSummary direct = new StreamInspector().inspect(file, null);

        int code = run(file.toString(), "--json");

        assertThat(code).isZero();
        JsonNode json = JsonMapper.builder().build().readTree(out.toString());
        assertThat(json.get("machineType").asString()).isEqualTo("pc-i440fx-7.2");
        assertThat(json.get("ramBlocks")).hasSize(6);
        assertThat(json.get("ramBlocks").get(0).get("name").asString()).isEqualTo("pc.ram");
        assertThat(json.get("ramBlocks").get(0).get("bytes").asLong()).isEqualTo(64L << 20);
        assertThat(json.get("ramRecords").get("PAGE").asLong()).isEqualTo(direct.ramRecords().get(
                io.ferry.wire.RamFlag.PAGE));
        assertThat(json.get("ramRecords").get("ZERO").asLong()).isEqualTo(direct.ramRecords().get(
                io.ferry.wire.RamFlag.ZERO));
        assertThat(json.get("deviceSections")).hasSize(30);
        assertThat(json.get("deviceSections").get(0).get("kind").asString()).isEqualTo("FULL");
        assertThat(json.get("eofOffset").asLong()).isEqualTo(direct.eofOffset());
        assertThat(json.get("vmDescription").get("json").get("devices")).hasSize(30);
        StreamSummary parsed = JsonMapper.builder().build().readValue(out.toString(), StreamSummary.class);
        assertThat(parsed).isEqualTo(direct);
    }

    @Test
    void aTruncatedCopyIsMalformedWithAnOffsetInsideIt() throws Exception {
        byte[] stream = Files.readAllBytes(QemuFiles.file(QemuFiles.NONE_2M));
        Path truncated = dir.resolve("truncated.qemu");
        Files.write(truncated, Arrays.copyOf(stream, 700_000)); // inside the RAM pages

        int code = run(truncated.toString());

        assertThat(code).isEqualTo(1);
        Matcher m = MALFORMED.matcher(err.toString());
        assertThat(m.matches()).as(err.toString()).isTrue();
        assertThat(m.group(1)).isEqualTo(truncated.toString());
        assertThat(Long.parseLong(m.group(2))).isBetween(700_000L - 4096 - 64, 700_000L);
        assertThat(m.group(3)).contains("truncated");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void aCorruptedByteIsMalformedAtItsOffset() throws Exception {
        Path source = QemuFiles.file(QemuFiles.NONE_2M);
        long eof = new StreamInspector().inspect(source, null).eofOffset();
        byte[] stream = Files.readAllBytes(source);
        stream[(int) eof] = 0x09; // the EOF byte, now no section type
        Path corrupted = dir.resolve("corrupted.qemu");
        Files.write(corrupted, stream);

        int code = run(corrupted.toString());

        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).isEqualTo(corrupted + ": malformed at byte " + eof
                + ": Unknown section type 0x09" + System.lineSeparator());
    }

    @Test
    void aCorruptedPageWordIsMalformedInsideTheFile() throws Exception {
        byte[] stream = Files.readAllBytes(QemuFiles.file(QemuFiles.NONE_2M));
        // the word of a page record in the middle of m0's random half: flags 0x28 (PAGE|CONTINUE) + 0x400
        int word = 0;
        for (int at = 500_000; at < stream.length - 8; at++) {
            if (stream[at + 7] == 0x28 && stream[at + 6] != 0 && stream[at] == 0 && stream[at + 1] == 0
                    && stream[at + 2] == 0 && stream[at + 3] == 0 && stream[at + 4] == 0) {
                word = at;
                break;
            }
        }
        assertThat(word).isPositive();
        stream[word + 6] |= 0x04; // not page-aligned any more
        Path corrupted = dir.resolve("corrupted.qemu");
        Files.write(corrupted, stream);

        int code = run(corrupted.toString());

        assertThat(code).isEqualTo(1);
        Matcher m = MALFORMED.matcher(err.toString());
        assertThat(m.matches()).as(err.toString()).isTrue();
        assertThat(Long.parseLong(m.group(2))).isEqualTo(word);
        assertThat(m.group(3)).contains("not aligned");
    }

    @Test
    void aMissingFileExitsTwo() {
        int code = run(dir.resolve("nothing.qemu").toString());

        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("nothing.qemu: no such file");
    }

    @Test
    void extractListsTheFilesItWrote() {
        Path file = QemuFiles.file(QemuFiles.NONE_2M);

        int code = run(file.toString(), "--extract", dir.resolve("x").toString());

        assertThat(code).isZero();
        assertThat(out.toString()).contains("extracted   " + dir.resolve("x/m0.ram"));
        assertThat(run(file.toString(), "--extract", dir.resolve("x").toString())).isEqualTo(2);
        assertThat(err.toString()).contains("m0.ram").contains("does not overwrite");
    }
}
