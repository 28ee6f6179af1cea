package io.ferry.inspect;

import io.ferry.wire.StreamFormat;

/** The section-type bytes that open a section with a payload and a footer. */
public enum SectionKind {

    START(StreamFormat.SECTION_START),
    PART(StreamFormat.SECTION_PART),
    END(StreamFormat.SECTION_END),
    FULL(StreamFormat.SECTION_FULL);

    private final byte code;

    SectionKind(byte code) {
        this.code = code;
    }

    /** The byte on the wire. */
    public byte code() {
        return code;
    }

    /**
     * The kind with this section-type byte.
     *
     * @throws IllegalArgumentException if the byte opens no section (EOF, COMMAND, ...)
     */
    public static SectionKind of(byte code) {
        for (SectionKind kind : values()) {
            if (kind.code == code) {
                return kind;
            }
        }
        throw new IllegalArgumentException(String.format("Byte 0x%02x is not a section kind", code & 0xff));
    }
}
