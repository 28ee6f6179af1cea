package io.ferry.migration.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.ferry.inspect.StreamInspector;
import io.ferry.inspect.StreamSummary;
import io.ferry.wire.DecoderLimits;
import io.ferry.wire.RamFlag;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The relay's tee against the real QEMU 7.2 streams of {@code ../shared/testdata/qemu}. */
class StreamTeeTest {

    private static final Path DIR = Stream.of(System.getenv("FERRY_QEMU_TESTDATA"), "../shared/testdata/qemu",
                    "/work/shared/testdata/qemu")
            .filter(Objects::nonNull).map(Path::of).filter(Files::isDirectory).findFirst()
            .orElse(Path.of("../shared/testdata/qemu"));

    private final ByteArrayOutputStream forwarded = new ByteArrayOutputStream();

    private StreamTee tee() {
        return new StreamTee(DecoderLimits.defaults(), 64 << 20, buf -> {
            try {
                byte[] bytes = new byte[buf.readableBytes()];
                buf.readBytes(bytes);
                forwarded.writeBytes(bytes);
            } finally {
                buf.release();
            }
        });
    }

    private static byte[] file(String name) throws IOException {
        Path file = DIR.resolve(name);
        assumeThat(Files.isReadable(file)).as("test stream %s present", file).isTrue();
        return Files.readAllBytes(file);
    }

    private static void offer(StreamTee tee, byte[] stream, int from, int to, int chunk) {
        for (int i = from; i < to; i += chunk) {
            tee.offer(Unpooled.copiedBuffer(stream, i, Math.min(chunk, to - i)));
        }
    }

    @ParameterizedTest(name = "{0} in chunks of {1}")
    @CsvSource({"pc-64M-mostlyzero.qemu, 65536", "pc-64M-mostlyzero.qemu, 4093", "pc-64M-mostlyzero.qemu, 17",
            "none-2M-halfrandom.qemu, 7", "none-2M-halfrandom.qemu, 1000000"})
    void aWholeQemuStreamIsForwardedByteForByteAndCountedAsQemuWroteIt(String name, int chunk) throws Exception {
        byte[] stream = file(name);
        StreamSummary summary = new StreamInspector().inspect(DIR.resolve(name), null);
        try (StreamTee tee = tee()) {
            offer(tee, stream, 0, stream.length, chunk);
            tee.endOfInput();

            assertThat(tee.complete()).isTrue();
            assertThat(forwarded.toByteArray()).isEqualTo(stream);
            StreamProgress p = tee.progress();
            assertThat(p.receivedBytes()).isEqualTo(stream.length);
            assertThat(p.forwardedBytes()).isEqualTo(stream.length);
            assertThat(p.heldBytes()).isZero();
            assertThat(p.machineType()).isEqualTo(summary.machineType());
            assertThat(p.ramBlocks()).isEqualTo(summary.ramBlocks().size());
            assertThat(p.normalPages()).isEqualTo(summary.ramRecords().getOrDefault(RamFlag.PAGE, 0L));
            assertThat(p.zeroPages()).isEqualTo(summary.ramRecords().getOrDefault(RamFlag.ZERO, 0L));
            assertThat(p.deviceSections()).isEqualTo(summary.deviceSections().size()).isPositive();
            assertThat(p.ramPasses()).isEqualTo(1);   // one pass over a paused guest's memory
            assertThat(p.endOfStream()).isTrue();
            assertThat(p.vmDescription()).isTrue();
            assertThat(p.deviceBytes()).isPositive();
            assertThat(p.ramSectionBytes()).isBetween((long) p.normalPages() * 4096, (long) stream.length);
        }
    }

    @Test
    void theDeviceTailIsHeldUntilItsVmdescArrivesThenCheckedAndForwarded() throws Exception {
        byte[] stream = file("pc-64M-mostlyzero.qemu");
        int eof = eofOffset(stream);
        try (StreamTee tee = tee()) {
            offer(tee, stream, 0, eof - 1, 4096);   // all but the last byte of the last section's footer

            StreamProgress p = tee.progress();
            assertThat(p.deviceBytes()).isPositive();
            assertThat(p.forwardedBytes()).isEqualTo(p.receivedBytes() - p.heldBytes())
                    .isLessThan(eof - p.deviceBytes() + 1);
            assertThat(p.deviceSections()).isZero();

            offer(tee, stream, eof - 1, stream.length, 4096);
            assertThat(tee.complete()).isTrue();
            assertThat(forwarded.toByteArray()).isEqualTo(stream);
        }
    }

    @Test
    void aCorruptedRamRecordIsRefusedAndNothingFromItOnIsForwarded() throws Exception {
        byte[] stream = file("pc-64M-mostlyzero.qemu");
        // where an element starts deep in pc.ram's zero pages: what a tee fed a prefix forwards
        long at;
        try (StreamTee probe = new StreamTee(DecoderLimits.defaults(), 1 << 20, ByteBuf::release)) {
            offer(probe, stream, 0, 300_000, 65536);
            at = probe.progress().forwardedBytes();
        }
        int word = (int) at;
        assertThat(stream[word + 7]).as("a ZERO|CONTINUE or PAGE|CONTINUE record at %d", at)
                .isIn((byte) 0x22, (byte) 0x28);
        byte[] corrupt = stream.clone();
        corrupt[word + 7] |= 0x01;   // + the retired FULL flag
        try (StreamTee tee = tee()) {
            assertThatThrownBy(() -> offer(tee, corrupt, 0, corrupt.length, 65536))
                    .isInstanceOfSatisfying(StreamTee.Refusal.class, r -> assertThat(r.offset()).isEqualTo(at));
            assertThat(forwarded.size()).isLessThanOrEqualTo(word);
            byte[] out = forwarded.toByteArray();
            assertThat(out).isEqualTo(java.util.Arrays.copyOf(stream, out.length));
            assertThat(tee.complete()).isFalse();
            assertThatThrownBy(() -> tee.offer(Unpooled.buffer(1).writeByte(0)))
                    .isInstanceOf(StreamTee.Refusal.class);
        }
    }

    @Test
    void aBrokenFooterInTheDeviceTailIsRefusedAndNoDeviceStateIsForwarded() throws Exception {
        byte[] stream = file("pc-64M-mostlyzero.qemu");
        int eof = eofOffset(stream);
        assertThat(stream[eof - 5]).isEqualTo((byte) 0x7E);
        byte[] corrupt = stream.clone();
        corrupt[eof - 2] ^= 1;   // the last device section's footer names another section id
        try (StreamTee tee = tee()) {
            assertThatThrownBy(() -> offer(tee, corrupt, 0, corrupt.length, 65536))
                    .isInstanceOf(StreamTee.Refusal.class)
                    .hasMessageContaining("footer");
            long tail = tee.progress().deviceBytes();
            assertThat((long) forwarded.size()).isLessThanOrEqualTo(stream.length - tail);
            assertThat(tee.progress().deviceSections()).as("%s", tee.progress()).isPositive();
        }
    }

    @Test
    void aSubsectionThatIsNotWhereTheVmdescPutsItIsRefused() throws Exception {
        byte[] stream = file("pc-64M-mostlyzero.qemu");
        int eof = eofOffset(stream);
        // the first "0x05 <len> <name>/" of a subsection in the device tail
        int sub = -1;
        for (int i = eof - 1; i > eof - 200_000 && i > 0; i--) {
            if (stream[i] == 0x05 && stream[i + 1] > 3 && stream[i + 1] < 60 && isSubsectionName(stream, i)) {
                sub = i;
            }
        }
        assumeThat(sub).as("a subsection in the device tail").isPositive();
        byte[] corrupt = stream.clone();
        corrupt[sub + 2] ^= 0x20;   // its name's first letter in the other case
        try (StreamTee tee = tee()) {
            assertThatThrownBy(() -> offer(tee, corrupt, 0, corrupt.length, 65536))
                    .isInstanceOf(StreamTee.Refusal.class)
                    .hasMessageContaining("subsection");
        }
    }

    @Test
    void aStreamThatStopsInTheDeviceTailIsRefusedAtEndOfInput() throws Exception {
        byte[] stream = file("pc-64M-mostlyzero.qemu");
        int eof = eofOffset(stream);
        try (StreamTee tee = tee()) {
            offer(tee, stream, 0, eof - 100, 65536);
            assertThatThrownBy(tee::endOfInput).isInstanceOf(StreamTee.Refusal.class)
                    .hasMessageContaining("without the vmdesc");
        }
    }

    private static boolean isSubsectionName(byte[] stream, int i) {
        int n = stream[i + 1];
        String name = new String(stream, i + 2, n, java.nio.charset.StandardCharsets.US_ASCII);
        return name.matches("[a-z0-9_-]+/[a-z0-9_/-]+");
    }

    /** The EOF byte before the trailing vmdesc. */
    private static int eofOffset(byte[] stream) {
        for (int p = stream.length - 6; p > 0; p--) {
            long length = ((stream[p + 1] & 0xFFL) << 24) | ((stream[p + 2] & 0xFF) << 16)
                    | ((stream[p + 3] & 0xFF) << 8) | (stream[p + 4] & 0xFF);
            if (stream[p] == 0x06 && stream[p - 1] == 0 && length == stream.length - p - 5) {
                return p - 1;
            }
        }
        throw new AssertionError("no vmdesc");
    }
}
