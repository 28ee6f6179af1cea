package io.ferry.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Walks a stream file by the rules QEMU's {@code scripts/analyze-migration.py} reads it with
 * (paraphrased, since CI has no copy of the script): the JSON is found from the tail (the last NUL,
 * then the first '{' after it, with 0x06 and its be32 length just before); {@code ram} is read by
 * its records until EOS; every other START or FULL section must be described in the JSON, and
 * is read — again at each PART or END with its id — as the description's fields (size ×
 * array_len, structs recursively) and then its subsections; a footer must name the last section.
 */
final class AnalyzerWalk {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int PAGE = 4096;

    /** What the walk read: "TYPE name" per section in order, the described devices, the JSON's offset. */
    record Walk(List<String> sections, List<String> describedDevices, int vmDescriptionOffset) {
    }

    private final ByteBuffer in;
    private final Map<String, JsonNode> devices = new HashMap<>();
    private final Map<Integer, String> sectionNames = new HashMap<>();
    private final List<String> sections = new ArrayList<>();

    private AnalyzerWalk(byte[] bytes) {
        this.in = ByteBuffer.wrap(bytes);
    }

    static Walk walk(Path file) throws IOException {
        return new AnalyzerWalk(Files.readAllBytes(file)).walk();
    }

    private Walk walk() {
        byte[] bytes = in.array();
        int nul = -1;
        for (int i = bytes.length - 1; i >= 0 && nul < 0; i--) {
            nul = bytes[i] == 0 ? i : -1;
        }
        int brace = nul;
        while (brace < bytes.length && bytes[brace] != '{') {
            brace++;
        }
        if (bytes[brace - 5] != 0x06) {
            throw new IllegalStateException("No Debug Migration device found");
        }
        int length = in.getInt(brace - 4);
        JsonNode description = JSON.readTree(new String(bytes, brace, length, StandardCharsets.UTF_8));
        List<String> described = new ArrayList<>();
        for (JsonNode device : description.get("devices")) {
            if (!device.has("fields")) {
                throw new IllegalStateException("vmstate for device " + device.get("name") + " has no fields");
            }
            String key = device.get("name").asString() + "#" + device.get("instance_id").asInt();
            devices.put(key, device);
            described.add(key);
        }
        if (in.getInt() != 0x5145564D || in.getInt() != 3) {
            throw new IllegalStateException("bad magic or version");
        }
        int lastSection = -1;
        while (true) {
            int type = in.get();
            switch (type) {
                case 0x00 -> {
                    return new Walk(sections, described, brace - 5);
                }
                case 0x07 -> skip(in.getInt());   // no "configuration" in the JSON: be32 length + name
                case 0x01, 0x04 -> {
                    lastSection = in.getInt();
                    String name = string(in.get());
                    int instance = in.getInt();
                    in.getInt();
                    String key = name + "#" + instance;
                    if (!name.equals("ram") && !devices.containsKey(key)) {
                        throw new IllegalStateException("KeyError: section " + key + " is not described");
                    }
                    sectionNames.put(lastSection, key);
                    sections.add((type == 1 ? "START " : "FULL ") + name);
                    read(key);
                }
                case 0x02, 0x03 -> {
                    lastSection = in.getInt();
                    String key = sectionNames.get(lastSection);
                    sections.add((type == 2 ? "PART " : "END ") + key.substring(0, key.indexOf('#')));
                    read(key);
                }
                case 0x7E -> {
                    if (in.getInt() != lastSection) {
                        throw new IllegalStateException("Mismatched section footer");
                    }
                }
                default -> throw new IllegalStateException("Unknown section type: " + type);
            }
        }
    }

    private void read(String key) {
        if (key.equals("ram#0")) {
            ramRecords();
        } else {
            vmsd(devices.get(key));
        }
    }

    private void ramRecords() {
        while (true) {
            long word = in.getLong();
            long flags = word & (PAGE - 1);
            long address = word & ~(long) (PAGE - 1);
            if ((flags & 0x04) != 0) {   // MEM_SIZE: the block list
                for (long total = address; total > 0; ) {
                    string(in.get());
                    total -= in.getLong();
                }
                flags &= ~0x04L;
            }
            if ((flags & 0x02) != 0) {   // ZERO
                if ((flags & 0x20) == 0) {
                    string(in.get());
                }
                in.get();
                flags &= ~0x22L;
            } else if ((flags & 0x08) != 0) {   // PAGE
                if ((flags & 0x20) == 0) {
                    string(in.get());
                }
                skip(PAGE);
                flags &= ~0x28L;
            }
            if ((flags & 0x10) != 0) {
                return;
            }
            if (flags != 0) {
                throw new IllegalStateException("Unknown RAM flags: " + Long.toHexString(flags));
            }
        }
    }

    private void vmsd(JsonNode description) {
        for (JsonNode field : description.get("fields")) {
            int count = field.has("array_len") ? field.get("array_len").asInt() : 1;
            for (int i = 0; i < count; i++) {
                if (field.get("type").asString().equals("struct")) {
                    vmsd(field.get("struct"));
                } else {
                    skip(field.get("size").asLong());
                }
            }
        }
        if (description.has("subsections")) {
            for (JsonNode subsection : description.get("subsections")) {
                if (in.get() != 0x05) {
                    throw new IllegalStateException("Subsection " + subsection.get("vmsd_name") + " not found");
                }
                string(in.get());
                in.getInt();
                vmsd(subsection);
            }
        }
    }

    private String string(int length) {
        byte[] bytes = new byte[length];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private void skip(long n) {
        in.position(Math.toIntExact(in.position() + n));
    }
}
