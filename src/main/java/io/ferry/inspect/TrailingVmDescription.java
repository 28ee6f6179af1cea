package io.ferry.inspect;

import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.StreamFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * QEMU's JSON description of the device sections, found at a file's end before the stream is read.
 *
 * <p>Why before: QEMU's device payloads carry no length (see {@link DeviceSectionFormat}), and the
 * JSON that tells their layout comes only after EOF. A file can be read from its tail first, as
 * QEMU's {@code scripts/analyze-migration.py} does: the description is
 * {@code | 0x06 | be32 n | n bytes of JSON |} ending on the file's last byte. The EOF byte before it
 * is not required here: a file broken there should still have its devices read up to the break,
 * and the decoder checks that byte anyway.
 */
final class TrailingVmDescription {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** 0x06, be32 length. */
    private static final int FRAME = 1 + Integer.BYTES;

    private final long offset;
    private final byte[] json;
    private final JsonNode tree;

    private TrailingVmDescription(long offset, byte[] json, JsonNode tree) {
        this.offset = offset;
        this.json = json;
        this.tree = tree;
    }

    /**
     * The description ending on the file's last byte, if there is one of at most {@code maxBytes}
     * that parses as a JSON object; empty otherwise (Ferry's files, a truncated file).
     */
    static Optional<TrailingVmDescription> find(FileChannel file, int maxBytes) throws IOException {
        long size = file.size();
        int window = (int) Math.min(size, (long) maxBytes + FRAME);
        ByteBuffer tail = ByteBuffer.allocate(window);
        long from = size - window;
        while (tail.hasRemaining() && file.read(tail, from + tail.position()) >= 0) {
            // positional reads until the tail is in
        }
        byte[] bytes = tail.array();
        // from the end: the longest candidate is tried last, so a "0x00 0x06" inside the JSON cannot win
        for (int p = window - FRAME; p >= 0; p--) {
            if (bytes[p] == StreamFormat.VMDESCRIPTION
                    && Integer.toUnsignedLong(ByteBuffer.wrap(bytes, p + 1, 4).getInt()) == window - p - FRAME
                    && p + FRAME < window && bytes[p + FRAME] == '{') {
                byte[] json = Arrays.copyOfRange(bytes, p + FRAME, window);
                Optional<JsonNode> tree = parse(json);
                if (tree.isPresent()) {
                    return Optional.of(new TrailingVmDescription(from + p, json, tree.get()));
                }
            }
        }
        return Optional.empty();
    }

    static Optional<JsonNode> parse(byte[] json) {
        try {
            JsonNode tree = JSON.readTree(json);
            return tree != null && tree.isObject() ? Optional.of(tree) : Optional.empty();
        } catch (JacksonException e) {
            return Optional.empty();
        }
    }

    /** The file offset of the 0x06 byte. */
    long offset() {
        return offset;
    }

    int length() {
        return json.length;
    }

    JsonNode tree() {
        return tree;
    }

    /**
     * "idstr#instance" → a fixed-length format for every device the JSON lists. A field's bytes are
     * {@code size × array_len} (QEMU records the bytes it wrote per element); a subsection adds
     * 0x05, its counted name and a be32 version before its own fields.
     */
    Map<String, DeviceSectionFormat> deviceFormats() {
        Map<String, DeviceSectionFormat> formats = new HashMap<>();
        JsonNode devices = tree.get("devices");
        if (devices == null) {
            return formats;
        }
        for (JsonNode device : devices) {
            if (device.has("name") && device.has("instance_id")) {
                formats.put(key(device.get("name").asString(), device.get("instance_id").asInt()),
                        DeviceSectionFormat.fixed(stateBytes(device)));
            }
        }
        return formats;
    }

    static String key(String idstr, int instance) {
        return idstr + "#" + Integer.toUnsignedString(instance);
    }

    private static int stateBytes(JsonNode vmsd) {
        int size = 0;
        if (vmsd.has("fields")) {
            for (JsonNode field : vmsd.get("fields")) {
                size += field.path("size").asInt() * (field.has("array_len") ? field.get("array_len").asInt() : 1);
            }
        }
        if (vmsd.has("subsections")) {
            for (JsonNode subsection : vmsd.get("subsections")) {
                String name = subsection.path("vmsd_name").asString();
                size += 1 + 1 + name.getBytes(StandardCharsets.UTF_8).length + Integer.BYTES + stateBytes(subsection);
            }
        }
        return size;
    }
}
