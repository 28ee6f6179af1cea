package io.ferry.wire;

/**
 * The constants of QEMU's migration stream, version 3, as Ferry writes and reads it.
 *
 * <p>Every multi-byte integer is big-endian. A "counted string" is {@code u8 len} then
 * {@code len} bytes, no NUL. Sections are not length-prefixed: a reader must understand each
 * payload (see {@link DeviceSectionFormat} for the device sections it cannot).
 *
 * <pre>
 * File header, then the configuration section (a bare VMState, no section id, no footer):
 *
 *   +-------------+-------------+------+-------------+--------------------+-----------------+
 *   | be32 magic  | be32 version| 0x07 | be32 len    | len bytes          | [subsections]   |
 *   | 0x5145564D  | 0x00000003  |      |             | machine type name  | 0x05 ...        |
 *   +-------------+-------------+------+-------------+--------------------+-----------------+
 *
 * START (0x01) and FULL (0x04) sections:
 *
 *   +------+-----------------+-----+-------+------------------+-----------------+---------+------+-----------------+
 *   | type | be32 section_id | u8 n| idstr | be32 instance_id | be32 version_id | payload | 0x7E | be32 section_id |
 *   +------+-----------------+-----+-------+------------------+-----------------+---------+------+-----------------+
 *
 * PART (0x02) and END (0x03) sections (the id is the one read in the START section):
 *
 *   +------+-----------------+---------+------+-----------------+
 *   | type | be32 section_id | payload | 0x7E | be32 section_id |
 *   +------+-----------------+---------+------+-----------------+
 *
 * COMMAND (0x08):  | 0x08 | be16 command | be16 len | len bytes |
 * EOF (0x00):      | 0x00 |
 * after EOF:       | 0x06 | be32 json_len | json_len bytes of JSON (the "vmdesc", skipped; {@link VmDescription}) |
 * </pre>
 *
 * <p>The RAM section's records are drawn in {@link RamFlag}; Ferry's device-state section in
 * {@link StreamEncoder#deviceState}.
 */
public final class StreamFormat {

    /** {@code QEMU_VM_FILE_MAGIC}, "QEVM". */
    public static final int MAGIC = 0x5145564D;
    /** {@code QEMU_VM_FILE_VERSION}: the only version read or written. */
    public static final int VERSION = 3;
    /** {@code QEMU_VM_FILE_VERSION_COMPAT}: QEMU refuses it as obsolete, and so do we. */
    public static final int VERSION_OBSOLETE = 2;

    // Section-type bytes (QEMU_VM_*). A byte's meaning never changes; a new kind gets a new byte.
    /** End of device state; in precopy the last byte before the optional vmdesc. */
    public static final byte EOF = 0x00;
    /** First section of an iterative ("live") device, written at setup. */
    public static final byte SECTION_START = 0x01;
    /** One iteration chunk of a live device. */
    public static final byte SECTION_PART = 0x02;
    /** Last chunk of a live device, written with the guest stopped. */
    public static final byte SECTION_END = 0x03;
    /** Whole state of a non-iterative device. */
    public static final byte SECTION_FULL = 0x04;
    /** Inside a VMState payload only (top level only for the configuration's subsections). */
    public static final byte SUBSECTION = 0x05;
    /** JSON description of the devices, after EOF. */
    public static final byte VMDESCRIPTION = 0x06;
    /** The configuration section, right after the file header. */
    public static final byte CONFIGURATION = 0x07;
    /** Command sub-protocol: be16 command, be16 length, data. */
    public static final byte COMMAND = 0x08;
    /** Footer after every START/PART/END/FULL section: 0x7E + be32 section id. */
    public static final byte SECTION_FOOTER = 0x7E;

    // QEMU_VM_COMMAND sub-commands Ferry reads; the others are refused by name.
    /** The destination opens the reverse direction of the connection (length 0). */
    public static final int CMD_OPEN_RETURN_PATH = 1;
    /** be32 value the destination echoes as a return-path PONG (length 4). */
    public static final int CMD_PING = 2;
    /** be64 RAM page-size summary + be64 target page size (16 bytes): the source intends post-copy. */
    public static final int CMD_POSTCOPY_ADVISE = 3;
    /** (len 0) the destination starts listening for pages while the guest will run. */
    public static final int CMD_POSTCOPY_LISTEN = 4;
    /** (len 0) the destination runs the guest; missing pages are requested on demand. */
    public static final int CMD_POSTCOPY_RUN = 5;
    /**
     * {@code | u8 0 | counted block name | u8 0 | N × (be64 start, be64 length) |}, bytes within
     * the block: pages sent in pre-copy but dirty again (or never sent); the destination drops them.
     */
    public static final int CMD_POSTCOPY_RAM_DISCARD = 6;
    /** QEMU's {@code MAX_DISCARDS_PER_COMMAND}. */
    public static final int MAX_DISCARDS_PER_COMMAND = 12;
    /**
     * (len 0) post-copy recovery: the source has rebuilt its dirty bitmaps from the destination's
     * received bitmaps and continues sending; the destination answers RESUME_ACK.
     */
    public static final int CMD_POSTCOPY_RESUME = 9;
    /**
     * {@code | be32 n |}, then n bytes of a nested stream (post-copy's LISTEN, the device state,
     * PINGs, RUN) outside the command's own data. Read only where the listener opts in
     * ({@link StreamListener#packaged}), which passes over it unread.
     */
    public static final int CMD_PACKAGED = 7;
    /**
     * {@code | u8 n | n bytes RAM block idstr |} (len 1 + n), post-copy recovery: the source asks
     * for the block's received bitmap, answered on the return path by RECV_BITMAP.
     */
    public static final int CMD_RECV_BITMAP = 10;

    /** Target page size: the unit of every RAM record. */
    public static final int PAGE_SIZE = 4096;
    /** log2(PAGE_SIZE); the configuration's optional target-page-bits subsection must say this. */
    public static final int PAGE_BITS = 12;

    /** idstr of QEMU's RAM section (instance 0). */
    public static final String RAM_SECTION = "ram";
    /** The only RAM section version QEMU (and Ferry) loads. */
    public static final int RAM_SECTION_VERSION = 4;

    /**
     * idstr of Ferry's own device-state section (instance 0). Not a QEMU device: its payload is
     * Ferry's layout, {@code be32 length + length bytes}, see {@link StreamEncoder#deviceState}.
     */
    public static final String DEVICE_STATE_SECTION = "ferry/device-state";
    /** Current (and highest readable) version of {@link #DEVICE_STATE_SECTION}. */
    public static final int DEVICE_STATE_SECTION_VERSION = 1;

    /**
     * idstr of QEMU's legacy block-migration section ({@code migration/block.c}, instance 0),
     * iterative like {@code ram}. Its records, each a be64 word {@code byteOffset | flags} (the
     * sector number shifted by {@link #SECTOR_BITS}, flags in the low 9 bits):
     *
     * <pre>
     *   DEVICE_BLOCK 0x01:  | be64 offset|0x01 | u8 n | device name | 1 MiB of data |
     *                       (always a whole chunk; the last chunk of a device is padded)
     *   ZERO_BLOCK   0x08:  | be64 offset|0x09 | u8 n | device name |     (an all-zero chunk, no data)
     *   PROGRESS     0x04:  | be64 percent&lt;&lt;9|0x04 |                      (0..100)
     *   EOS          0x02:  | be64 0x02 |                                   (end of this section's records)
     * </pre>
     */
    public static final String BLOCK_SECTION = "block";
    /** The only {@code block} section version QEMU wrote. */
    public static final int BLOCK_SECTION_VERSION = 1;
    /** QEMU's {@code BLK_MIG_BLOCK_SIZE}: the data of every DEVICE_BLOCK record. */
    public static final int BLOCK_CHUNK_BYTES = 1 << 20;
    /** {@code BDRV_SECTOR_BITS}: block offsets are sector numbers of 512 bytes. */
    public static final int SECTOR_BITS = 9;
    public static final int BLOCK_FLAG_DEVICE_BLOCK = 0x01;
    public static final int BLOCK_FLAG_EOS = 0x02;
    public static final int BLOCK_FLAG_PROGRESS = 0x04;
    public static final int BLOCK_FLAG_ZERO_BLOCK = 0x08;

    /** The machine type Ferry's synthetic guests announce in the configuration section. */
    public static final String MACHINE_TYPE = "ferry-synthetic";

    /** The configuration VMState's name and its subsections (each version 1). */
    static final String CONFIGURATION_NAME = "configuration";
    static final String SUBSECTION_TARGET_PAGE_BITS = "configuration/target-page-bits";
    static final String SUBSECTION_CAPABILITIES = "configuration/capabilities";
    static final String SUBSECTION_UUID = "configuration/uuid";

    /** Longest counted string: its length is a u8. */
    static final int MAX_COUNTED_STRING = 255;

    private StreamFormat() {
    }

    /** The QEMU name of a section-type byte, for messages. */
    static String sectionTypeName(int type) {
        return switch (type) {
            case EOF -> "EOF";
            case SECTION_START -> "START";
            case SECTION_PART -> "PART";
            case SECTION_END -> "END";
            case SECTION_FULL -> "FULL";
            case SUBSECTION -> "SUBSECTION";
            case VMDESCRIPTION -> "VMDESCRIPTION";
            case CONFIGURATION -> "CONFIGURATION";
            case COMMAND -> "COMMAND";
            case SECTION_FOOTER -> "SECTION_FOOTER";
            default -> String.format("0x%02x", type & 0xff);
        };
    }
}
