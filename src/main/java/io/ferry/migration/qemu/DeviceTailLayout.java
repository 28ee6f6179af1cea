package io.ferry.migration.qemu;

import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The layout of QEMU's device sections, read from the vmdesc JSON QEMU writes after EOF: for every
 * FULL section the JSON lists (by idstr and instance), the payload's length and the subsection
 * headers inside it.
 *
 * <p>What it checks, and what not: a VMState payload is fields written back to back, big-endian,
 * with no marker, so a field's value cannot be told right from wrong. What can be checked is its
 * frame: the payload is exactly the sum of the sizes QEMU recorded per field (so the footer, which
 * the decoder checks, must follow at that very byte), and each top-level subsection starts with
 * {@code | 0x05 | u8 n | name | be32 version |} with the name and version the JSON gives. A field's
 * {@code size} is what QEMU wrote for it (nested structs and their subsections included), times
 * {@code array_len} for QEMU's compressed arrays.
 */
final class DeviceTailLayout {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Map<String, DeviceSectionFormat> formats;

    private DeviceTailLayout(Map<String, DeviceSectionFormat> formats) {
        this.formats = formats;
    }

    /** The layout the JSON describes, or empty if the bytes are not a JSON object. */
    static Optional<DeviceTailLayout> parse(byte[] json) {
        JsonNode tree;
        try {
            tree = JSON.readTree(json);
        } catch (JacksonException e) {
            return Optional.empty();
        }
        if (tree == null || !tree.isObject()) {
            return Optional.empty();
        }
        Map<String, DeviceSectionFormat> formats = new HashMap<>();
        for (JsonNode device : tree.path("devices")) {
            if (!device.has("name") || !device.has("instance_id")) {
                throw new StreamFormatException("vmdesc lists a device without name or instance_id: " + device);
            }
            formats.put(key(device.get("name").asString(), device.get("instance_id").asLong()), format(device));
        }
        return Optional.of(new DeviceTailLayout(formats));
    }

    /** The format of FULL section {@code idstr} {@code instance}, or null when the vmdesc does not list it. */
    DeviceSectionFormat format(String idstr, int instance) {
        return formats.get(key(idstr, Integer.toUnsignedLong(instance)));
    }

    int devices() {
        return formats.size();
    }

    private static String key(String idstr, long instance) {
        return idstr + "#" + instance;
    }

    /** A subsection header to find at {@code offset} of the payload. */
    private record SubsectionHeader(int offset, String name, int version) {
    }

    private static DeviceSectionFormat format(JsonNode device) {
        List<SubsectionHeader> headers = new ArrayList<>();
        long length = measure(device, 0, headers);
        if (length > Integer.MAX_VALUE) {
            throw new StreamFormatException("vmdesc gives device '" + device.path("name").asString() + "' "
                    + length + " bytes");
        }
        int payload = (int) length;
        int version = device.has("version") ? device.get("version").asInt() : -1;
        String name = device.path("name").asString();
        return (in, versionId) -> {
            if (version >= 0 && versionId != version) {
                throw new StreamFormatException("Device section '" + name + "' has version " + versionId
                        + ", its vmdesc entry version " + version);
            }
            if (in.readableBytes() < payload) {
                return DeviceSectionFormat.NEED_MORE;
            }
            for (SubsectionHeader header : headers) {
                check(in, in.readerIndex() + header.offset(), header, name);
            }
            return payload;
        };
    }

    /** Bytes of {@code vmsd} (fields, then subsections) starting at {@code offset}; subsection headers into {@code headers}. */
    private static long measure(JsonNode vmsd, long offset, List<SubsectionHeader> headers) {
        long at = offset;
        for (JsonNode field : vmsd.path("fields")) {
            long size = field.path("size").asLong(-1);
            long count = field.has("array_len") ? field.get("array_len").asLong(-1) : 1;
            if (size < 0 || count < 0) {
                throw new StreamFormatException("vmdesc field without a size: " + field);
            }
            at += size * count;
        }
        for (JsonNode subsection : vmsd.path("subsections")) {
            String name = subsection.path("vmsd_name").asString();
            int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
            if (at > Integer.MAX_VALUE || nameBytes == 0 || nameBytes > 255) {
                throw new StreamFormatException("vmdesc subsection that QEMU cannot have written: " + name);
            }
            headers.add(new SubsectionHeader((int) at, name, subsection.path("version").asInt(-1)));
            at = measure(subsection, at + 1 + 1 + nameBytes + Integer.BYTES, headers);
        }
        return at;
    }

    /** {@code | 0x05 | u8 n | name | be32 version |} at {@code index}. */
    private static void check(ByteBuf in, int index, SubsectionHeader header, String device) {
        byte[] name = header.name().getBytes(StandardCharsets.UTF_8);
        if (in.getByte(index) != StreamFormat.SUBSECTION || in.getUnsignedByte(index + 1) != name.length) {
            throw new StreamFormatException(String.format("Device section '%s': no subsection header for '%s' at "
                    + "payload byte %d (0x%02x, length %d)", device, header.name(), header.offset(),
                    in.getByte(index), in.getUnsignedByte(index + 1)));
        }
        for (int k = 0; k < name.length; k++) {
            if (in.getByte(index + 2 + k) != name[k]) {
                throw new StreamFormatException("Device section '" + device + "': subsection at payload byte "
                        + header.offset() + " is '" + in.toString(index + 2, name.length, StandardCharsets.UTF_8)
                        + "', its vmdesc says '" + header.name() + "'");
            }
        }
        int version = in.getInt(index + 2 + name.length);
        if (header.version() >= 0 && version != header.version()) {
            throw new StreamFormatException("Device section '" + device + "': subsection '" + header.name()
                    + "' has version " + version + ", its vmdesc says " + header.version());
        }
    }
}
