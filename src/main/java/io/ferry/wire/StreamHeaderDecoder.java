package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The start of a migration stream, for {@link StreamDecoder}: the file header (magic and version)
 * and the configuration section with its subsections. Each method reads one element if it is all
 * there and leaves it unread otherwise.
 */
final class StreamHeaderDecoder {

    /** Configuration capabilities subsection: more names than QEMU has capabilities is garbage. */
    private static final int MAX_CAPABILITIES = 64;
    private static final int UUID_BYTES = 16;

    private final DecoderContext context;

    StreamHeaderDecoder(DecoderContext context) {
        this.context = context;
    }

    /** {@code | be32 magic | be32 version |}; false if not all there yet. */
    boolean header(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r >= Integer.BYTES && in.getInt(i) != StreamFormat.MAGIC) {
            throw context.fail(String.format("Not a migration stream: magic 0x%08x, expected 0x%08x (QEVM)",
                    in.getInt(i), StreamFormat.MAGIC));
        }
        if (r < 2 * Integer.BYTES) {
            return false;
        }
        int version = in.getInt(i + 4);
        if (version == StreamFormat.VERSION_OBSOLETE) {
            throw context.fail("Migration stream version 2 is obsolete and not supported");
        }
        if (version != StreamFormat.VERSION) {
            throw context.fail("Unsupported migration stream version " + Integer.toUnsignedString(version)
                    + " (supported: " + StreamFormat.VERSION + ")");
        }
        context.consume(in, 8);
        return true;
    }

    /**
     * {@code | 0x07 | be32 length | machine type |}: the machine type once it is all there, else
     * null. The caller reports it, after it has moved on, so the listener sees the decoder past it.
     */
    String configuration(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        byte type = in.getByte(i);
        if (type != StreamFormat.CONFIGURATION) {
            throw context.fail(String.format("Configuration section missing (found byte 0x%02x after the header)",
                    type));
        }
        if (r < 5) {
            return null;
        }
        long length = in.getUnsignedInt(i + 1);
        if (length == 0) {
            throw context.fail("Configuration section has an empty machine type");
        }
        DecoderLimits limits = context.limits;
        if (length > limits.maxMachineTypeLength()) {
            throw context.fail("Machine type name in the configuration section is " + length + " bytes, limit "
                    + limits.maxMachineTypeLength());
        }
        if (r < 5 + length) {
            return null;
        }
        String machineType = in.toString(i + 5, (int) length, StandardCharsets.UTF_8);
        context.consume(in, 5 + (int) length);
        return machineType;
    }

    /**
     * A subsection of the configuration VMState:
     * {@code | 0x05 | u8 n | name | be32 version | body |}. Ferry writes none; QEMU may send
     * target-page-bits (must be 12), capabilities (Ferry supports none of the validatable ones) and
     * uuid (ignored: a destination without a uuid only warns).
     */
    boolean configurationSubsection(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < 2) {
            return false;
        }
        int nameLength = context.checkCountedStringLength(in.getUnsignedByte(i + 1), "configuration subsection name");
        int body = 2 + nameLength + Integer.BYTES;
        if (r < body) {
            return false;
        }
        String name = in.toString(i + 2, nameLength, StandardCharsets.UTF_8);
        int version = in.getInt(i + 2 + nameLength);
        if (!name.equals(StreamFormat.SUBSECTION_TARGET_PAGE_BITS) && !name.equals(StreamFormat.SUBSECTION_CAPABILITIES)
                && !name.equals(StreamFormat.SUBSECTION_UUID)) {
            throw context.fail("Unknown subsection '" + name + "' of the configuration section");
        }
        if (version != 1) {
            throw context.fail("savevm: unsupported version " + version + " for '" + name + "' v1");
        }
        switch (name) {
            case StreamFormat.SUBSECTION_TARGET_PAGE_BITS -> {
                if (r < body + Integer.BYTES) {
                    return false;
                }
                int bits = in.getInt(i + body);
                if (bits != StreamFormat.PAGE_BITS) {
                    throw context.fail("Received target page bits " + bits + " but the local value is "
                            + StreamFormat.PAGE_BITS);
                }
                context.consume(in, body + Integer.BYTES);
            }
            case StreamFormat.SUBSECTION_CAPABILITIES -> {
                if (r < body + Integer.BYTES) {
                    return false;
                }
                long count = in.getUnsignedInt(i + body);
                if (count > MAX_CAPABILITIES) {
                    throw context.fail("Configuration lists " + count + " capabilities, limit " + MAX_CAPABILITIES);
                }
                if (count > 0) {
                    int at = body + Integer.BYTES;
                    if (r < at + 1) {
                        return false;
                    }
                    int length = context.checkCountedStringLength(in.getUnsignedByte(i + at), "capability name");
                    if (r < at + 1 + length) {
                        return false;
                    }
                    throw context.fail("Capability '" + in.toString(i + at + 1, length, StandardCharsets.UTF_8)
                            + "' is enabled on the source but not supported here");
                }
                context.consume(in, body + Integer.BYTES);
            }
            default -> { // uuid
                if (r < body + UUID_BYTES) {
                    return false;
                }
                context.consume(in, body + UUID_BYTES);
            }
        }
        return true;
    }
}
