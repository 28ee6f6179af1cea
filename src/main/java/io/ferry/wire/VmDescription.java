package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The JSON description QEMU writes after EOF (the "vmdesc"), for a stream Ferry writes to a file,
 * so that offline readers — QEMU's {@code scripts/analyze-migration.py}, {@code ferry inspect} —
 * can walk sections whose payloads carry no length.
 *
 * <pre>
 *   | 0x06 | be32 n | n bytes of UTF-8 JSON |      ending on the file's last byte
 *
 *   {"page_size":4096,"devices":[
 *     {"name":"ferry/device-state","instance_id":0,"version":1,"size":N,
 *      "fields":[{"name":"data","type":"buffer","size":N}]}, ...]}
 * </pre>
 *
 * <p>Each described section is one opaque buffer of its payload's size (without section header
 * and footer): this is how QEMU itself describes a section that has no VMState description
 * ({@code vmstate_save_old_style}), and all a reader needs to step over or extract it. An
 * iterative section may be described too, but a reader applies the one description to each of
 * its START/PART/END payloads, so a writer describing one must give it a single section
 * (a START and no PART or END) — {@code analyze-migration.py} has no reader of its own for
 * {@code block}. The {@code ram} section is never described: QEMU does not describe it, and
 * {@code analyze-migration.py} would then read RAM records as that buffer instead of with its
 * own RAM reader.
 *
 * <p>The analyzer finds the JSON from the tail: the last NUL byte, then the first '{' after it.
 * A JSON length with a byte 0x7B ('{') after its last zero byte would be taken for the JSON's
 * start, so {@link #json()} pads with trailing spaces until no length byte is 0x7B; the JSON
 * itself holds no NUL (control characters are escaped).
 *
 * <p>Not thread-safe; one per stream written.
 */
public final class VmDescription {

    private static final byte OPEN_BRACE = '{';

    /** One section described as a single buffer of {@code payloadBytes}. */
    public record Device(String idstr, int instanceId, int versionId, long payloadBytes) {
        public Device {
            Objects.requireNonNull(idstr, "idstr");
            if (idstr.equals(StreamFormat.RAM_SECTION)) {
                throw new IllegalArgumentException("the 'ram' section is never described (see VmDescription)");
            }
            if (payloadBytes < 0) {
                throw new IllegalArgumentException("payloadBytes must be >= 0, was " + payloadBytes);
            }
        }
    }

    private final List<Device> devices = new ArrayList<>();

    /** Adds a section, in stream order. */
    public void describe(String idstr, int instanceId, int versionId, long payloadBytes) {
        devices.add(new Device(idstr, instanceId, versionId, payloadBytes));
    }

    public List<Device> devices() {
        return List.copyOf(devices);
    }

    /** The JSON, padded as the class comment says. */
    public byte[] json() {
        StringBuilder json = new StringBuilder(64 + 160 * devices.size());
        json.append("{\"page_size\":").append(StreamFormat.PAGE_SIZE).append(",\"devices\":[");
        for (int i = 0; i < devices.size(); i++) {
            Device d = devices.get(i);
            json.append(i == 0 ? "" : ",").append("{\"name\":");
            string(json, d.idstr());
            json.append(",\"instance_id\":").append(Integer.toUnsignedLong(d.instanceId()))
                    .append(",\"version\":").append(Integer.toUnsignedLong(d.versionId()))
                    .append(",\"size\":").append(d.payloadBytes())
                    .append(",\"fields\":[{\"name\":\"data\",\"type\":\"buffer\",\"size\":").append(d.payloadBytes())
                    .append("}]}");
        }
        json.append("]}");
        while (hasOpenBraceByte(json.toString().getBytes(StandardCharsets.UTF_8).length)) {
            json.append(' ');
        }
        return json.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code | 0x06 | be32 n | JSON |}, to follow the EOF byte. */
    public void write(ByteBuf out) {
        byte[] json = json();
        out.writeByte(StreamFormat.VMDESCRIPTION);
        out.writeInt(json.length);
        out.writeBytes(json);
    }

    private static boolean hasOpenBraceByte(int length) {
        for (int shift = 0; shift < Integer.SIZE; shift += Byte.SIZE) {
            if ((byte) (length >>> shift) == OPEN_BRACE) {
                return true;
            }
        }
        return false;
    }

    private static void string(StringBuilder json, String value) {
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
