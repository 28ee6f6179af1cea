package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Streams written by a real QEMU 7.2 ({@code /work/shared/testdata/qemu/MANIFEST.md}): the decoder
 * must read them to the end and put every byte of RAM where QEMU had it.
 */
class QemuStreamTest {

    /** Beside the project as `../shared` (the workplace layout); FERRY_QEMU_TESTDATA overrides. */
    private static final Path DIR = java.util.stream.Stream.of(System.getenv("FERRY_QEMU_TESTDATA"),
                    "../shared/testdata/qemu", "/work/shared/testdata/qemu")
            .filter(java.util.Objects::nonNull).map(Path::of).filter(Files::isDirectory).findFirst()
            .orElse(Path.of("../shared/testdata/qemu"));
    private static final Path NONE_2M = DIR.resolve("none-2M-halfrandom.qemu");
    private static final Path PC_64M = DIR.resolve("pc-64M-mostlyzero.qemu");

    private static byte[] read(Path file) throws IOException {
        assumeThat(Files.isReadable(file)).as("test stream %s present", file).isTrue();
        return Files.readAllBytes(file);
    }

    /**
     * QEMU's {@code timer} vmstate (cpu-timers.c, version 2): int64 cpu_ticks_offset,
     * VMSTATE_UNUSED(8), int64 cpu_clock_offset (only from version 2), then the {@code timer/icount}
     * subsection only when icount is on. Like QEMU's loader, peek one byte after the fields for a
     * subsection.
     */
    static final DeviceSectionFormat TIMER = (in, version) -> {
        int fields = version >= 2 ? 24 : 16;
        return noSubsectionAfter(in, fields, "timer");
    };

    /** QEMU's {@code globalstate} (global_state.c, version 1): be32 size + 100-byte runstate buffer. */
    static final DeviceSectionFormat GLOBAL_STATE = (in, version) -> noSubsectionAfter(in, 4 + 100, "globalstate");

    private static int noSubsectionAfter(ByteBuf in, int fields, String vmsd) {
        if (in.readableBytes() < fields + 1) {
            return DeviceSectionFormat.NEED_MORE;
        }
        if (in.getByte(in.readerIndex() + fields) == StreamFormat.SUBSECTION) {
            throw new StreamFormatException("Subsection of '" + vmsd + "' not described in this test");
        }
        return fields;
    }

    @Test
    void none2MHalfRandomDecodesToTheManifestChecksum() throws IOException {
        byte[] stream = read(NONE_2M);
        for (int feeding = 0; feeding < 3; feeding++) {
            RecordingListener listener = new RecordingListener(true);
            listener.formats.put("timer", TIMER);
            listener.formats.put("globalstate", GLOBAL_STATE);
            StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

            int unread = switch (feeding) {
                case 0 -> Feeding.whole(decoder, stream);
                case 1 -> Feeding.byteByByte(decoder, stream);
                default -> Feeding.randomChunks(decoder, stream, 7, 10_000);
            };

            assertThat(unread).isZero();
            assertThat(decoder.finished()).isTrue();
            assertThat(decoder.position()).isEqualTo(stream.length); // vmdesc skipped to the last byte
            assertThat(listener.events.get(0)).isEqualTo("configuration none");
            assertThat(listener.blocks).containsExactly(new RamBlockInfo("m0", 2 << 20));
            assertThat(listener.pages).filteredOn(e -> e.startsWith("page 0 ")).hasSize(256);
            assertThat(listener.pages).filteredOn(e -> e.startsWith("zero 0 ")).hasSize(256);
            assertThat(sha256(listener.memory[0], 0, 2 << 20))
                    .isEqualTo("9e3c8e03241cae56c307be9cef2b6268a024ff496d6a04af49bd564d8ba64d1f");
            assertThat(listener.events).filteredOn(e -> e.startsWith("endOfRamSection"))
                    .containsExactly("endOfRamSection START", "endOfRamSection PART", "endOfRamSection END");
            assertThat(listener.events).filteredOn(e -> e.startsWith("device "))
                    .extracting(e -> e.substring(0, e.lastIndexOf(' ')))
                    .containsExactly("device timer 0 2 24", "device globalstate 0 1 104");
            byte[] globalState = listener.deviceStates.get("globalstate#0");
            assertThat(Arrays.copyOfRange(globalState, 0, 14))
                    .isEqualTo(Feeding.hex("0000000a 7072656c61756e636800")); // size 10, "prelaunch\0"
            assertThat(listener.events.get(listener.events.size() - 1)).isEqualTo("endOfStream");
        }
    }

    @Test
    void encoderWritesTheSameSetupAsQemu() throws IOException {
        byte[] stream = read(NONE_2M);
        ByteBuf out = Unpooled.buffer();
        StreamEncoder.header(out, "none");
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_START, 2, StreamFormat.RAM_SECTION, 0,
                StreamFormat.RAM_SECTION_VERSION);
        StreamEncoder.ramBlockList(out, List.of(new RamBlockInfo("m0", 2 << 20)));
        StreamEncoder.ramEos(out);
        StreamEncoder.footer(out, 2);
        StreamEncoder.sectionPart(out, StreamFormat.SECTION_PART, 2);
        new RamRecordWriter().pageHeader(out, "m0", 0);
        byte[] ours = Feeding.drain(out);

        assertThat(ours).isEqualTo(Arrays.copyOf(stream, ours.length));
    }

    /**
     * The pc machine's 30 device sections cannot be described by hand here; their layout comes from
     * the vmdesc JSON at the file's tail, read offline as QEMU's analyze-migration.py does: a
     * field's bytes are {@code size × array_len}, a subsection adds 0x05, its counted name and a
     * be32 version.
     */
    @Test
    void pc64MMostlyZeroDecodesToTheManifestChecksum() throws IOException {
        byte[] stream = read(PC_64M);
        Map<String, Integer> sizes = deviceSizesFromVmDescription(stream);
        assertThat(sizes).hasSize(30);
        RecordingListener listener = new RecordingListener(true);
        sizes.forEach((device, size) -> listener.formats.put(device, DeviceSectionFormat.fixed(size)));
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        int unread = Feeding.randomChunks(decoder, stream, 11, 70_000);

        assertThat(unread).isZero();
        assertThat(decoder.finished()).isTrue();
        assertThat(listener.events.get(0)).isEqualTo("configuration pc-i440fx-7.2");
        assertThat(listener.blocks).extracting(RamBlockInfo::idstr).containsExactly("pc.ram", "/rom@etc/acpi/tables",
                "pc.bios", "pc.rom", "/rom@etc/table-loader", "/rom@etc/acpi/rsdp");
        assertThat(listener.blocks.get(0).usedLength()).isEqualTo(64L << 20);
        // every page of every block arrived exactly once
        long totalPages = listener.blocks.stream().mapToLong(RamBlockInfo::pageCount).sum();
        assertThat(listener.pages).hasSize((int) totalPages);
        assertThat(sha256(listener.memory[0], 0x100000, 0x10000))
                .isEqualTo("97d20438561116864c909da482ffd059896d8597b359f33801a58c7be0c1dbd8");
        assertThat(listener.events).filteredOn(e -> e.startsWith("device ")).hasSize(30);
        assertThat(listener.events.get(listener.events.size() - 1)).isEqualTo("endOfStream");
    }

    @Test
    void pc64MRamIsReadBeforeAnyDeviceIsDescribed() throws IOException {
        byte[] stream = read(PC_64M);
        RecordingListener listener = new RecordingListener(true);
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        // Without device formats the stream is refused at the first device section, after all RAM.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Feeding.whole(decoder, stream))
                .isInstanceOf(StreamFormatException.class)
                .hasMessageContaining("Unknown savevm section 'timer' instance 0");
        assertThat(listener.events).contains("endOfRamSection END");
        assertThat(sha256(listener.memory[0], 0x100000, 0x10000))
                .isEqualTo("97d20438561116864c909da482ffd059896d8597b359f33801a58c7be0c1dbd8");
    }

    /** "idstr#instance" → payload size, from the vmdesc after EOF. */
    private static Map<String, Integer> deviceSizesFromVmDescription(byte[] stream) {
        int at = -1;
        for (int p = stream.length - 5; p > 0; p--) {
            if (stream[p] == StreamFormat.VMDESCRIPTION && stream[p - 1] == StreamFormat.EOF
                    && ((stream[p + 1] & 0xffL) << 24 | (stream[p + 2] & 0xff) << 16 | (stream[p + 3] & 0xff) << 8
                    | (stream[p + 4] & 0xff)) == stream.length - p - 5) {
                at = p + 5;
                break;
            }
        }
        assertThat(at).as("vmdesc found").isPositive();
        JsonNode description = JsonMapper.builder().build()
                .readTree(new String(stream, at, stream.length - at, StandardCharsets.UTF_8));
        Map<String, Integer> sizes = new LinkedHashMap<>();
        for (JsonNode device : description.get("devices")) {
            sizes.put(device.get("name").asString() + "#" + device.get("instance_id").asInt(), vmStateSize(device));
        }
        return sizes;
    }

    private static int vmStateSize(JsonNode vmsd) {
        int size = 0;
        for (JsonNode field : vmsd.get("fields")) {
            size += field.get("size").asInt() * (field.has("array_len") ? field.get("array_len").asInt() : 1);
        }
        List<JsonNode> subsections = new ArrayList<>();
        if (vmsd.has("subsections")) {
            vmsd.get("subsections").forEach(subsections::add);
        }
        for (JsonNode subsection : subsections) {
            String name = subsection.get("vmsd_name").asString();
            size += 1 + 1 + name.getBytes(StandardCharsets.UTF_8).length + 4 + vmStateSize(subsection);
        }
        return size;
    }

    private static String sha256(byte[] bytes, int from, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(bytes, from, length);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
