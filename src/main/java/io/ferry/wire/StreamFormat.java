package io.ferry.wire;

/**
 * QEMU's migration stream, version 3, as Ferry speaks it. All integers big-endian.
 *
 * <pre>
 *  header        +---------------+---------------+------+-------------+----------------+
 *                | be32 "QEVM"   | be32 3        | 0x07 | be32 len    | machine type   |
 *                +---------------+---------------+------+-------------+----------------+
 *  START / FULL  | u8 type | be32 section id | u8 n | idstr (n) | be32 instance | be32 version | payload | footer
 *  PART / END    | u8 type | be32 section id | payload | footer
 *  footer        | 0x7E | be32 section id |
 *  EOF           | 0x00 |
 * </pre>
 *
 * The {@code ram} section's payload is a sequence of records, each starting with a be64 word:
 * page offset in its block OR-ed with {@link RamFlag flags} in the bits below the page size.
 */
public final class StreamFormat {

    private StreamFormat() {
    }

    public static final int MAGIC = 0x5145564D;
    public static final int VERSION = 3;
    /** Rejected as obsolete, as QEMU does. */
    public static final int VERSION_COMPAT = 2;

    public static final byte EOF = 0x00;
    public static final byte SECTION_START = 0x01;
    public static final byte SECTION_PART = 0x02;
    public static final byte SECTION_END = 0x03;
    public static final byte SECTION_FULL = 0x04;
    public static final byte SUBSECTION = 0x05;
    public static final byte VMDESCRIPTION = 0x06;
    public static final byte CONFIGURATION = 0x07;
    public static final byte COMMAND = 0x08;
    public static final byte SECTION_FOOTER = 0x7E;

    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_BITS = 12;

    public static final String RAM_SECTION = "ram";
    public static final int RAM_SECTION_VERSION = 4;

    /**
     * Ferry's device-state section (not QEMU's): payload is be32 length + the guest's device
     * state blob.
     */
    public static final String DEVICE_STATE_SECTION = "ferry/device-state";
    public static final int DEVICE_STATE_VERSION = 1;

    public static final String MACHINE_TYPE = "ferry-synthetic";
}
