package io.ferry.migration;

import io.ferry.wire.StreamEncoder;
import io.ferry.wire.StreamFormat;
import io.netty.buffer.ByteBuf;
import io.ferry.wire.StreamFormatException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Ferry's own FULL sections beside QEMU's (device state is written by {@link StreamEncoder}).
 * {@code ferry/runstate} plays the part of QEMU's {@code globalstate}: whether the guest was
 * running or paused before migration, so the destination resumes it only if it ran.
 * {@code ferry/verify} carries the source's SHA-256 of memory, device state and each disk image
 * taken at switchover, so the destination can refuse a stream whose result differs:
 *
 * <pre>
 *   FULL "ferry/verify" instance 0 version 1:
 *   +-----------+-------------------------------------+
 *   | be32 len  | len bytes UTF-8: "mem:dev[:d1,d2…]" |   (lower-case hex SHA-256 digests;
 *   +-----------+-------------------------------------+    disks in the guest's disk order)
 * </pre>
 */
public final class FerrySections {

    public static final String RUN_STATE = "ferry/runstate";
    public static final String VERIFY = "ferry/verify";
    public static final int VERIFY_VERSION = 1;

    private FerrySections() {
    }

    /** The source's digests as {@code ferry/verify} carries them. */
    public record Digests(String memory, String deviceState, List<String> disks) {
    }

    public static void verify(ByteBuf out, int sectionId, Digests digests) {
        text(out, sectionId, VERIFY, digests.memory() + ":" + digests.deviceState()
                + (digests.disks().isEmpty() ? "" : ":" + String.join(",", digests.disks())));
    }

    /** Parses a {@code ferry/verify} payload. */
    public static Digests digests(ByteBuf payload) {
        String[] parts = text(payload).split(":");
        if (parts.length != 2 && parts.length != 3) {
            throw new StreamFormatException("malformed " + VERIFY + " section");
        }
        return new Digests(parts[0], parts[1], parts.length == 2 ? List.of() : List.of(parts[2].split(",")));
    }

    /** {@code running} or {@code paused}, with the same be32-length layout. */
    public static void runState(ByteBuf out, int sectionId, String runState) {
        text(out, sectionId, RUN_STATE, runState);
    }

    /** The text of a section written by this class, from its payload (be32 length + bytes). */
    public static String text(ByteBuf payload) {
        int length = payload.getInt(payload.readerIndex());
        return payload.toString(payload.readerIndex() + 4, length, StandardCharsets.US_ASCII);
    }

    private static void text(ByteBuf out, int sectionId, String idstr, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        StreamEncoder.sectionStart(out, StreamFormat.SECTION_FULL, sectionId, idstr, 0, VERIFY_VERSION);
        out.writeInt(bytes.length);
        out.writeBytes(bytes);
        StreamEncoder.footer(out, sectionId);
    }
}
