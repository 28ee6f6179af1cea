package io.ferry.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class VmDescriptionTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void describesEachSectionAsOneBufferOfItsPayloadAsQemuDoesForOldStyleSections() {
        VmDescription description = new VmDescription();
        description.describe("ferry/device-state", 0, 1, 4104);
        description.describe("block", 0, 1, 3 << 20);

        JsonNode tree = JSON.readTree(description.json());

        assertThat(tree.get("page_size").asInt()).isEqualTo(4096);
        assertThat(tree.get("devices")).hasSize(2);
        JsonNode device = tree.get("devices").get(0);
        assertThat(device.get("name").asString()).isEqualTo("ferry/device-state");
        assertThat(device.get("instance_id").asInt()).isZero();
        assertThat(device.get("version").asInt()).isEqualTo(1);
        assertThat(device.get("fields")).singleElement().satisfies(field -> {
            assertThat(field.get("name").asString()).isEqualTo("data");
            assertThat(field.get("type").asString()).isEqualTo("buffer");
            assertThat(field.get("size").asLong()).isEqualTo(4104);
        });
        assertThat(tree.get("devices").get(1).get("fields").get(0).get("size").asLong()).isEqualTo(3 << 20);
    }

    @Test
    void anEmptyDescriptionIsStillAnObjectWithPageSizeAndDevices() {
        JsonNode tree = JSON.readTree(new VmDescription().json());

        assertThat(tree.get("page_size").asInt()).isEqualTo(4096);
        assertThat(tree.get("devices")).isEmpty();
    }

    @Test
    void escapesQuotesBackslashesAndControlCharactersSoTheJsonHoldsNoNul() {
        VmDescription description = new VmDescription();
        description.describe("a\"b\\c\u0000d", 1, 1, 8);

        byte[] json = description.json();

        assertThat(json).doesNotContain((byte) 0);
        assertThat(JSON.readTree(json).get("devices").get(0).get("name").asString()).isEqualTo("a\"b\\c\u0000d");
    }

    @Test
    void neverDescribesTheRamSection() {
        assertThatThrownBy(() -> new VmDescription().describe("ram", 0, 4, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never described");
    }

    /**
     * QEMU's analyze-migration.py takes the first '{' after the last NUL of the tail for the JSON's
     * start: for every JSON length near one with a 0x7B byte, that rule must land on the JSON.
     */
    @Test
    void theAnalyzersTailRuleFindsTheJsonWhateverItsLength() {
        for (int names = 0; names < 400; names++) {
            VmDescription description = new VmDescription();
            description.describe("x".repeat(1 + names % 200), names, 1, names * 7L);
            for (int i = 0; i < names / 40; i++) {
                description.describe("y" + i, 0, 1, 1);
            }
            ByteBuf file = Unpooled.buffer();
            StreamEncoder.eof(file);
            description.write(file);
            byte[] bytes = ByteBufUtil.getBytes(file);
            file.release();

            int nul = lastIndexOf(bytes, (byte) 0);
            int brace = indexOf(bytes, (byte) '{', nul);
            assertThat(bytes[brace - 5]).isEqualTo(StreamFormat.VMDESCRIPTION);
            assertThat(ByteBuffer.wrap(bytes, brace - 4, 4).getInt()).isEqualTo(bytes.length - brace);
        }
    }

    @Test
    void padsALengthWithAByte0x7bUntilItHasNone() {
        for (int length = 0x7b - 60; length < 0x7b + 0x7b00; length += 37) {
            VmDescription description = new VmDescription();
            description.describe("d".repeat(Math.max(1, Math.min(200, length / 2))), 0, 1, length);
            int n = description.json().length;
            for (int shift = 0; shift < 32; shift += 8) {
                assertThat((n >>> shift) & 0xff).isNotEqualTo(0x7b);
            }
        }
    }

    @Test
    void theDecoderSkipsItAfterEof() {
        ByteBuf stream = Unpooled.buffer();
        StreamEncoder.header(stream, StreamFormat.MACHINE_TYPE);
        StreamEncoder.deviceState(stream, 3, new byte[] {1, 2, 3});
        StreamEncoder.eof(stream);
        VmDescription description = new VmDescription();
        description.describe(StreamFormat.DEVICE_STATE_SECTION, 0, 1, 7);
        description.write(stream);
        RecordingListener listener = new RecordingListener();
        StreamDecoder decoder = new StreamDecoder(listener, DecoderLimits.defaults());

        decoder.feed(stream);
        decoder.endOfInput();

        assertThat(stream.isReadable()).isFalse();
        assertThat(listener.deviceStates.get(StreamFormat.DEVICE_STATE_SECTION + "#0")).containsExactly(1, 2, 3);
        stream.release();
    }

    private static int lastIndexOf(byte[] bytes, byte value) {
        for (int i = bytes.length - 1; i >= 0; i--) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] bytes, byte value, int from) {
        for (int i = Math.max(0, from); i < bytes.length; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }
}
