package io.ferry.wire;

import static io.ferry.wire.StreamFormat.PAGE_SIZE;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads one incoming migration stream (layouts in {@link StreamFormat} and {@link RamFlag}) and
 * reports it to a {@link StreamListener}. One instance per channel; not thread-safe.
 *
 * <p>Feeding: {@link #feed} consumes every complete element available in {@code in} and leaves a
 * partial element unread, so the caller keeps accumulating bytes (as Netty's
 * {@code ByteToMessageDecoder} does) and calls again. Elements are small headers and records, a
 * device section with its footer, or a chunk of the vmdesc JSON (the only thing consumed
 * piecemeal, because it is skipped and may be large). It is correct fed one byte at a time.
 *
 * <p>Validation: everything read is checked against the format and {@link DecoderLimits} before it
 * is trusted. A record is reported only once it is complete and valid, so a page with a bad
 * offset never reaches guest memory. The first error throws {@link StreamFormatException} with
 * the stream offset of the offending element and the decoder stays failed.
 *
 * <p>Hot path: a PAGE record costs no allocation. The block of a named record is found by
 * comparing its idstr bytes in place, a CONTINUE record uses the remembered block index, and the
 * page's bytes are handed over as {@code in} itself, with its indexes narrowed to the page for the
 * duration of {@link StreamListener#page}.
 *
 * <p>Ferry reads precopy streams without XBZRLE, multifd or RDMA, whose records are refused by name,
 * and post-copy's commands (ADVISE, RAM_DISCARD, LISTEN, RUN, and recovery's RECV_BITMAP and
 * POSTCOPY_RESUME) besides OPEN_RETURN_PATH and PING; other commands are refused by name.
 *
 * <p>Post-copy recovery: the source reconnects and goes on without a header on the new connection.
 * The destination keeps this decoder, with what it learned (section ids, RAM blocks), and calls
 * {@link #continueOnNewStream} before feeding the new connection's bytes.
 *
 * <p>Post-copy preempt channel ({@link #forPreemptChannel}): QEMU's second connection for requested
 * pages carries RAM page records only — no header, no sections, no end — with its own "last
 * block" for CONTINUE; the blocks are the ones the main channel announced.
 */
public final class StreamDecoder {

    private enum State {
        /** magic and version */
        HEADER,
        /** 0x07, be32 length, machine type */
        CONFIGURATION,
        /** a top-level type byte and what it starts (section header, command, EOF) */
        SECTION,
        /** be64 RAM record words and their bodies, until EOS */
        RAM_RECORD,
        /** counted idstr + be64 length entries, until they add up to the announced total */
        RAM_BLOCK_LIST,
        /** 0x7E + be32 section id, closing a RAM or block section */
        FOOTER,
        /** be64 block-migration record words and their device names, until EOS */
        BLOCK_RECORD,
        /** the 1 MiB data of a DEVICE_BLOCK record, passed on as it arrives */
        BLOCK_DATA,
        /** a FULL section's payload and footer */
        DEVICE_PAYLOAD,
        /** EOF seen; only a vmdesc may follow */
        AFTER_EOF,
        /** skipping the vmdesc JSON */
        VM_DESCRIPTION,
        /** nothing more may come */
        DONE,
        /** an error was thrown; the decoder is unusable */
        FAILED
    }

    private static final int WORD = Long.BYTES;
    private static final int FOOTER_SIZE = 1 + Integer.BYTES;
    private static final int PAGE_SHIFT = StreamFormat.PAGE_BITS;
    private static final int PAGE_FLAGS_MASK = PAGE_SIZE - 1;

    private static final int ZERO = RamFlag.ZERO.code();
    private static final int MEM_SIZE = RamFlag.MEM_SIZE.code();
    private static final int PAGE = RamFlag.PAGE.code();
    private static final int EOS = RamFlag.EOS.code();
    private static final int CONTINUE = RamFlag.CONTINUE.code();
    private static final int MULTIFD_FLUSH = RamFlag.MULTIFD_FLUSH.code();

    /** Configuration capabilities subsection: more names than QEMU has capabilities is garbage. */
    private static final int MAX_CAPABILITIES = 64;
    private static final int UUID_BYTES = 16;

    private final StreamListener listener;
    private final DecoderLimits limits;
    /** The post-copy preempt channel: page records and nothing else. */
    private final boolean preempt;

    // All fields are confined to the thread that calls feed().
    private State state = State.HEADER;
    /** A MULTIFD_FLUSH was read and its listener asked to wait: nothing more is consumed until {@link #release()}. */
    private boolean held;
    private RuntimeException failure;
    /** Stream offset of in.readerIndex(): bytes consumed so far. */
    private long position;
    /** Configuration subsections may follow the machine type, before any other top-level byte. */
    private boolean configurationSubsectionsAllowed;

    // The section being read.
    private byte sectionType;
    private int sectionId;
    private String sectionIdstr;

    // The "ram" section: its id from START, and whether END was read.
    private boolean ramStarted;
    private boolean ramEnded;
    private int ramSectionId;

    // RAM blocks, fixed once the block list is complete; index = position in the list.
    private List<RamBlockInfo> blocks;
    private byte[][] blockNames;
    private long[] blockLengths;
    /** Block of the last page record on this channel, for CONTINUE; -1 before the first. */
    private int lastBlock = -1;

    // Block list being read.
    private List<RamBlockInfo> pendingBlocks;
    private long blockListTotal;
    private long blockListRemaining;

    // FULL section being read.
    private int deviceInstance;
    private int deviceVersion;
    private DeviceSectionFormat deviceFormat; // null: Ferry's own length-prefixed section

    private long vmDescriptionRemaining;

    // The "block" section: its id from START, whether END was read, and the chunk being read.
    private boolean blockStarted;
    private boolean blockEnded;
    private int blockSectionId;
    private int chunkDelivered;

    public StreamDecoder(StreamListener listener, DecoderLimits limits) {
        this(listener, limits, false);
    }

    private StreamDecoder(StreamListener listener, DecoderLimits limits, boolean preempt) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.preempt = preempt;
    }

    /**
     * A decoder for post-copy's preempt channel: ZERO and PAGE records of {@code blocks} (the list
     * the main channel announced), reported to {@link StreamListener#page} and
     * {@link StreamListener#zeroPage}; any other record fails it. It never finishes: the channel
     * ends when the migration does.
     */
    public static StreamDecoder forPreemptChannel(StreamListener listener, DecoderLimits limits,
                                                  List<RamBlockInfo> blocks) {
        if (blocks.isEmpty() || blocks.size() > limits.maxRamBlocks()) {
            throw new IllegalArgumentException("a preempt channel needs 1.." + limits.maxRamBlocks() + " RAM blocks, got "
                    + blocks.size());
        }
        StreamDecoder decoder = new StreamDecoder(listener, limits, true);
        decoder.blocks = List.copyOf(blocks);
        decoder.blockNames = new byte[blocks.size()][];
        decoder.blockLengths = new long[blocks.size()];
        for (int b = 0; b < blocks.size(); b++) {
            decoder.blockNames[b] = blocks.get(b).idstr().getBytes(StandardCharsets.UTF_8);
            decoder.blockLengths[b] = blocks.get(b).usedLength();
        }
        decoder.state = State.RAM_RECORD;
        return decoder;
    }

    /**
     * Consumes every complete element readable in {@code in} and reports it; leaves a trailing
     * partial element unread.
     *
     * @throws StreamFormatException if the stream is malformed or over a limit (also when thrown
     *                               by the listener); the decoder is then failed
     * @throws IllegalStateException if the decoder failed before
     */
    public void feed(ByteBuf in) {
        if (state == State.FAILED) {
            throw new IllegalStateException("Stream decoder already failed: " + failure.getMessage(), failure);
        }
        try {
            while (!held && in.isReadable() && step(in)) {
                // each step consumed one element
            }
        } catch (RuntimeException e) {
            state = State.FAILED;
            failure = e;
            throw e;
        }
    }

    /** Whether the decoder waits after a MULTIFD_FLUSH (see {@link StreamListener#multifdFlush()}). */
    public boolean held() {
        return held;
    }

    /** Lets a decoder held at a MULTIFD_FLUSH read on; the caller then feeds the bytes it left unread. */
    public void release() {
        held = false;
    }

    /** Whether the EOF byte has been read (a vmdesc may still be being skipped). */
    public boolean finished() {
        return state == State.AFTER_EOF || state == State.VM_DESCRIPTION || state == State.DONE;
    }

    /** Whether an error was thrown. */
    public boolean failed() {
        return state == State.FAILED;
    }

    /** Bytes consumed so far from the current connection (counted from 0 again by {@link #continueOnNewStream}). */
    public long position() {
        return position;
    }

    /**
     * Post-copy recovery: the next bytes fed come from a new connection, which starts at the top
     * level (a section-type byte, RECV_BITMAP first in practice), without file header or
     * configuration. Call it when the new connection attaches, and feed that connection's bytes
     * from their first one; the old connection's unread bytes must not be fed again.
     *
     * <p>Kept: everything learned from the old connection, which the new stream refers to without
     * repeating it — the {@code ram} and {@code block} section ids and whether their END was read,
     * and the RAM block list. Dropped: whatever element the old connection broke in (a page record,
     * a section's remaining records, a device section, a footer; its bytes stayed unread in the
     * old connection's buffer and nothing of it was reported), and the block used by CONTINUE, as
     * QEMU forgets it on a new channel: the new stream's first page record must name its block.
     * The slices of a 1 MiB disk chunk already passed to {@link StreamListener#blockData} before a
     * break cannot be taken back; the listener must not count that chunk as received. A RAM block
     * list cut short stays unknown (its START is not read twice), so page records are refused
     * after such a break.
     *
     * <p>{@link #position()} and the stream offsets in error messages restart at 0: they are offsets
     * in the connection being read, which is what a packet capture of it shows.
     *
     * @throws IllegalStateException if the decoder failed (a malformed stream is not resumed), read
     *                               EOF (the migration is over), or has not read the header and
     *                               configuration yet (there is nothing to continue)
     */
    public void continueOnNewStream() {
        switch (state) {
            case FAILED -> throw new IllegalStateException(
                    "Cannot continue a failed migration stream on a new connection: " + failure.getMessage(), failure);
            case AFTER_EOF, VM_DESCRIPTION, DONE -> throw new IllegalStateException(
                    "Cannot continue the migration stream on a new connection: EOF was already read");
            case HEADER, CONFIGURATION -> throw new IllegalStateException(
                    "Cannot continue the migration stream on a new connection: its header and configuration"
                            + " were not read yet");
            default -> {
                // SECTION, or broken inside a section: the element under way is dropped below
            }
        }
        state = State.SECTION;
        position = 0;
        configurationSubsectionsAllowed = false;
        lastBlock = -1;
        pendingBlocks = null;
        blockListTotal = 0;
        blockListRemaining = 0;
        deviceFormat = null;
        chunkDelivered = 0;
    }

    /**
     * The peer closed its side: fails unless EOF was read. A vmdesc cut short is tolerated, as
     * QEMU only drains it.
     *
     * @throws StreamFormatException naming where the stream stopped
     */
    public void endOfInput() {
        if (state == State.FAILED) {
            throw new IllegalStateException("Stream decoder already failed: " + failure.getMessage(), failure);
        }
        if (!finished()) {
            StreamFormatException truncated = new StreamFormatException("Migration stream truncated in state "
                    + describeState() + " after " + position + " bytes");
            state = State.FAILED;
            failure = truncated;
            throw truncated;
        }
    }

    private boolean step(ByteBuf in) {
        return switch (state) {
            case HEADER -> header(in);
            case CONFIGURATION -> configuration(in);
            case SECTION -> section(in);
            case RAM_RECORD -> ramRecord(in);
            case RAM_BLOCK_LIST -> ramBlockEntry(in);
            case FOOTER -> ramFooter(in);
            case BLOCK_RECORD -> blockRecord(in);
            case BLOCK_DATA -> blockData(in);
            case DEVICE_PAYLOAD -> devicePayload(in);
            case AFTER_EOF -> afterEof(in);
            case VM_DESCRIPTION -> skipVmDescription(in);
            case DONE -> throw fail("Unexpected data after the end of the migration stream (after the vmdesc)");
            case FAILED -> throw new IllegalStateException("failed");
        };
    }

    // ---------------------------------------------------------------- header and configuration

    private boolean header(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r >= Integer.BYTES && in.getInt(i) != StreamFormat.MAGIC) {
            throw fail(String.format("Not a migration stream: magic 0x%08x, expected 0x%08x (QEVM)",
                    in.getInt(i), StreamFormat.MAGIC));
        }
        if (r < 2 * Integer.BYTES) {
            return false;
        }
        int version = in.getInt(i + 4);
        if (version == StreamFormat.VERSION_OBSOLETE) {
            throw fail("Migration stream version 2 is obsolete and not supported");
        }
        if (version != StreamFormat.VERSION) {
            throw fail("Unsupported migration stream version " + Integer.toUnsignedString(version)
                    + " (supported: " + StreamFormat.VERSION + ")");
        }
        consume(in, 8);
        state = State.CONFIGURATION;
        return true;
    }

    private boolean configuration(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        byte type = in.getByte(i);
        if (type != StreamFormat.CONFIGURATION) {
            throw fail(String.format("Configuration section missing (found byte 0x%02x after the header)", type));
        }
        if (r < 5) {
            return false;
        }
        long length = in.getUnsignedInt(i + 1);
        if (length == 0) {
            throw fail("Configuration section has an empty machine type");
        }
        if (length > limits.maxMachineTypeLength()) {
            throw fail("Machine type name in the configuration section is " + length + " bytes, limit "
                    + limits.maxMachineTypeLength());
        }
        if (r < 5 + length) {
            return false;
        }
        String machineType = in.toString(i + 5, (int) length, StandardCharsets.UTF_8);
        consume(in, 5 + (int) length);
        state = State.SECTION;
        configurationSubsectionsAllowed = true;
        listener.configuration(machineType);
        return true;
    }

    /**
     * A subsection of the configuration VMState:
     * {@code | 0x05 | u8 n | name | be32 version | body |}. Ferry writes none; QEMU may send
     * target-page-bits (must be 12), capabilities (Ferry supports none of the validatable ones) and
     * uuid (ignored: a destination without a uuid only warns).
     */
    private boolean configurationSubsection(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < 2) {
            return false;
        }
        int nameLength = checkCountedStringLength(in.getUnsignedByte(i + 1), "configuration subsection name");
        int body = 2 + nameLength + Integer.BYTES;
        if (r < body) {
            return false;
        }
        String name = in.toString(i + 2, nameLength, StandardCharsets.UTF_8);
        int version = in.getInt(i + 2 + nameLength);
        if (!name.equals(StreamFormat.SUBSECTION_TARGET_PAGE_BITS) && !name.equals(StreamFormat.SUBSECTION_CAPABILITIES)
                && !name.equals(StreamFormat.SUBSECTION_UUID)) {
            throw fail("Unknown subsection '" + name + "' of the configuration section");
        }
        if (version != 1) {
            throw fail("savevm: unsupported version " + version + " for '" + name + "' v1");
        }
        switch (name) {
            case StreamFormat.SUBSECTION_TARGET_PAGE_BITS -> {
                if (r < body + Integer.BYTES) {
                    return false;
                }
                int bits = in.getInt(i + body);
                if (bits != StreamFormat.PAGE_BITS) {
                    throw fail("Received target page bits " + bits + " but the local value is "
                            + StreamFormat.PAGE_BITS);
                }
                consume(in, body + Integer.BYTES);
            }
            case StreamFormat.SUBSECTION_CAPABILITIES -> {
                if (r < body + Integer.BYTES) {
                    return false;
                }
                long count = in.getUnsignedInt(i + body);
                if (count > MAX_CAPABILITIES) {
                    throw fail("Configuration lists " + count + " capabilities, limit " + MAX_CAPABILITIES);
                }
                if (count > 0) {
                    int at = body + Integer.BYTES;
                    if (r < at + 1) {
                        return false;
                    }
                    int length = checkCountedStringLength(in.getUnsignedByte(i + at), "capability name");
                    if (r < at + 1 + length) {
                        return false;
                    }
                    throw fail("Capability '" + in.toString(i + at + 1, length, StandardCharsets.UTF_8)
                            + "' is enabled on the source but not supported here");
                }
                consume(in, body + Integer.BYTES);
            }
            default -> { // uuid
                if (r < body + UUID_BYTES) {
                    return false;
                }
                consume(in, body + UUID_BYTES);
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- top level

    private boolean section(ByteBuf in) {
        byte type = in.getByte(in.readerIndex());
        if (type == StreamFormat.SUBSECTION) {
            if (!configurationSubsectionsAllowed) {
                throw fail("Subsection byte 0x05 at top level, outside the configuration section");
            }
            return configurationSubsection(in);
        }
        configurationSubsectionsAllowed = false;
        switch (type) {
            case StreamFormat.SECTION_START, StreamFormat.SECTION_FULL:
                return sectionHeader(in, type);
            case StreamFormat.SECTION_PART, StreamFormat.SECTION_END:
                return sectionPart(in, type);
            case StreamFormat.EOF:
                consume(in, 1);
                state = State.AFTER_EOF;
                listener.endOfStream();
                return true;
            case StreamFormat.COMMAND:
                return command(in);
            case StreamFormat.CONFIGURATION:
                throw fail("Duplicate configuration section");
            case StreamFormat.VMDESCRIPTION:
                throw fail("VM description (0x06) before EOF");
            case StreamFormat.SECTION_FOOTER:
                throw fail("Section footer (0x7e) outside a section");
            default:
                throw fail(String.format("Unknown section type 0x%02x", type));
        }
    }

    /** START or FULL: {@code | type | be32 id | u8 n | idstr | be32 instance | be32 version |}. */
    private boolean sectionHeader(ByteBuf in, byte type) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < 6) {
            return false;
        }
        int id = in.getInt(i + 1);
        int idLength = checkCountedStringLength(in.getUnsignedByte(i + 5), "section idstr");
        int size = 6 + idLength + 2 * Integer.BYTES;
        if (r < size) {
            return false;
        }
        String idstr = in.toString(i + 6, idLength, StandardCharsets.UTF_8);
        int instance = in.getInt(i + 6 + idLength);
        int version = in.getInt(i + 10 + idLength);
        String typeName = StreamFormat.sectionTypeName(type);

        if (idstr.equals(StreamFormat.RAM_SECTION)) {
            if (type != StreamFormat.SECTION_START) {
                throw fail("Section 'ram' must be iterative (START/PART/END), got " + typeName);
            }
            if (instance != 0) {
                throw fail("Unknown savevm section or instance 'ram' " + Integer.toUnsignedString(instance));
            }
            if (version != StreamFormat.RAM_SECTION_VERSION) {
                throw fail("savevm: unsupported version " + version + " for 'ram' v" + StreamFormat.RAM_SECTION_VERSION);
            }
            if (ramStarted) {
                throw fail("Duplicate START section for 'ram'");
            }
            consume(in, size);
            ramStarted = true;
            ramSectionId = id;
            beginSection(type, id, idstr);
            state = State.RAM_RECORD;
            return true;
        }
        if (idstr.equals(StreamFormat.BLOCK_SECTION)) {
            if (type != StreamFormat.SECTION_START) {
                throw fail("Section 'block' must be iterative (START/PART/END), got " + typeName);
            }
            if (instance != 0) {
                throw fail("Unknown savevm section or instance 'block' " + Integer.toUnsignedString(instance));
            }
            if (version != StreamFormat.BLOCK_SECTION_VERSION) {
                throw fail("savevm: unsupported version " + version + " for 'block' v"
                        + StreamFormat.BLOCK_SECTION_VERSION);
            }
            if (blockStarted) {
                throw fail("Duplicate START section for 'block'");
            }
            if (ramStarted && id == ramSectionId) {
                throw fail("START section 'block' reuses section id " + Integer.toUnsignedString(id) + " of 'ram'");
            }
            consume(in, size);
            blockStarted = true;
            blockSectionId = id;
            beginSection(type, id, idstr);
            state = State.BLOCK_RECORD;
            listener.blockSectionStart();
            return true;
        }
        if (type == StreamFormat.SECTION_START) {
            throw fail("Unknown savevm section '" + idstr + "' instance " + Integer.toUnsignedString(instance)
                    + " in a START section (Ferry's iterative sections are 'ram' and 'block')");
        }
        if (ramStarted && id == ramSectionId) {
            throw fail("FULL section '" + idstr + "' reuses section id " + Integer.toUnsignedString(id) + " of 'ram'");
        }
        if (blockStarted && id == blockSectionId) {
            throw fail("FULL section '" + idstr + "' reuses section id " + Integer.toUnsignedString(id)
                    + " of 'block'");
        }
        DeviceSectionFormat format = null;
        if (idstr.equals(StreamFormat.DEVICE_STATE_SECTION)) {
            if (instance != 0) {
                throw fail("Unknown savevm section or instance '" + idstr + "' " + Integer.toUnsignedString(instance));
            }
            if (version < 1 || version > StreamFormat.DEVICE_STATE_SECTION_VERSION) {
                throw fail("savevm: unsupported version " + version + " for '" + idstr + "' v"
                        + StreamFormat.DEVICE_STATE_SECTION_VERSION);
            }
        } else {
            format = listener.deviceSectionFormat(idstr, instance, version);
            if (format == null) {
                throw fail("Unknown savevm section '" + idstr + "' instance " + Integer.toUnsignedString(instance));
            }
        }
        consume(in, size);
        beginSection(type, id, idstr);
        deviceInstance = instance;
        deviceVersion = version;
        deviceFormat = format;
        state = State.DEVICE_PAYLOAD;
        return true;
    }

    /** PART or END: {@code | type | be32 id |}; the id must be the one of the 'ram' or 'block' START. */
    private boolean sectionPart(ByteBuf in, byte type) {
        if (in.readableBytes() < 5) {
            return false;
        }
        int id = in.getInt(in.readerIndex() + 1);
        String typeName = StreamFormat.sectionTypeName(type);
        if (blockStarted && id == blockSectionId) {
            if (blockEnded) {
                throw fail(typeName + " section for 'block' (id " + Integer.toUnsignedString(id)
                        + ") after its END section");
            }
            consume(in, 5);
            blockEnded = type == StreamFormat.SECTION_END;
            beginSection(type, id, StreamFormat.BLOCK_SECTION);
            state = State.BLOCK_RECORD;
            return true;
        }
        if (!ramStarted || id != ramSectionId) {
            throw fail("Unknown section id " + Integer.toUnsignedString(id) + " in a " + typeName + " section");
        }
        if (ramEnded) {
            throw fail(typeName + " section for 'ram' (id " + Integer.toUnsignedString(id) + ") after its END section");
        }
        consume(in, 5);
        if (type == StreamFormat.SECTION_END) {
            ramEnded = true;
        }
        beginSection(type, id, StreamFormat.RAM_SECTION);
        state = State.RAM_RECORD;
        return true;
    }

    private void beginSection(byte type, int id, String idstr) {
        sectionType = type;
        sectionId = id;
        sectionIdstr = idstr;
    }

    /** {@code | 0x08 | be16 command | be16 length | data |}. */
    private boolean command(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < 5) {
            return false;
        }
        int command = in.getUnsignedShort(i + 1);
        int length = in.getUnsignedShort(i + 3);
        switch (command) {
            case StreamFormat.CMD_OPEN_RETURN_PATH -> {
                if (length != 0) {
                    throw fail("MIG_CMD OPEN_RETURN_PATH has bad length " + length + " (expected 0)");
                }
                consume(in, 5);
                listener.openReturnPath();
            }
            case StreamFormat.CMD_PING -> {
                if (length != Integer.BYTES) {
                    throw fail("MIG_CMD PING has bad length " + length + " (expected 4)");
                }
                if (r < 9) {
                    return false;
                }
                int value = in.getInt(i + 5);
                consume(in, 9);
                listener.ping(value);
            }
            case StreamFormat.CMD_POSTCOPY_ADVISE -> {
                if (length != 2 * Long.BYTES) {
                    throw fail("MIG_CMD POSTCOPY_ADVISE has bad length " + length + " (expected 16)");
                }
                if (r < 5 + length) {
                    return false;
                }
                long pageSizes = in.getLong(i + 5);
                long targetPage = in.getLong(i + 13);
                if (pageSizes != PAGE_SIZE || targetPage != PAGE_SIZE) {
                    throw fail("Postcopy needs matching RAM page sizes (source " + pageSizes + "/" + targetPage
                            + ", destination " + PAGE_SIZE + ")");
                }
                consume(in, 5 + length);
                listener.postcopyAdvise();
            }
            case StreamFormat.CMD_POSTCOPY_LISTEN, StreamFormat.CMD_POSTCOPY_RUN -> {
                if (length != 0) {
                    throw fail("MIG_CMD " + (command == StreamFormat.CMD_POSTCOPY_RUN ? "POSTCOPY_RUN" : "POSTCOPY_LISTEN")
                            + " has bad length " + length + " (expected 0)");
                }
                consume(in, 5);
                if (command == StreamFormat.CMD_POSTCOPY_RUN) {
                    listener.postcopyRun();
                } else {
                    listener.postcopyListen();
                }
            }
            case StreamFormat.CMD_POSTCOPY_RAM_DISCARD -> {
                if (r < 5 + length) {
                    return false;
                }
                discard(in, i + 5, length);
                consume(in, 5 + length);
            }
            case StreamFormat.CMD_RECV_BITMAP -> {
                return recvBitmap(in, i, r, length);
            }
            case StreamFormat.CMD_POSTCOPY_RESUME -> {
                if (length != 0) {
                    throw fail("MIG_CMD POSTCOPY_RESUME has bad length " + length + " (expected 0)");
                }
                consume(in, 5);
                listener.postcopyResume();
            }
            default -> throw fail(commandRefusal(command));
        }
        return true;
    }

    /** Validates a whole RAM_DISCARD command before reporting any of its ranges. */
    private void discard(ByteBuf in, int at, int length) {
        if (length < 3 + 1 + 16) {
            throw fail("MIG_CMD POSTCOPY_RAM_DISCARD has bad length " + length);
        }
        if (in.getUnsignedByte(at) != 0) {
            throw fail("POSTCOPY_RAM_DISCARD version " + in.getUnsignedByte(at) + " (expected 0)");
        }
        int nameLength = checkCountedStringLength(in.getUnsignedByte(at + 1), "discard block name");
        int ranges = length - 3 - nameLength;
        if (ranges <= 0 || ranges % 16 != 0 || ranges / 16 > StreamFormat.MAX_DISCARDS_PER_COMMAND) {
            throw fail("MIG_CMD POSTCOPY_RAM_DISCARD has bad length " + length);
        }
        if (in.getUnsignedByte(at + 2 + nameLength) != 0) {
            throw fail("POSTCOPY_RAM_DISCARD block name is not terminated");
        }
        if (blocks == null) {
            throw fail("POSTCOPY_RAM_DISCARD before the RAM block list");
        }
        int block = findBlock(in, at + 2, nameLength);
        if (block < 0) {
            throw fail("POSTCOPY_RAM_DISCARD for unknown RAM block '"
                    + in.toString(at + 2, nameLength, StandardCharsets.UTF_8) + "'");
        }
        int first = at + 3 + nameLength;
        for (int r = first; r < at + length; r += 16) {
            long start = in.getLong(r);
            long bytes = in.getLong(r + 8);
            if (start < 0 || bytes <= 0 || (start & PAGE_FLAGS_MASK) != 0 || (bytes & PAGE_FLAGS_MASK) != 0
                    || start > blockLengths[block] - bytes) {
                throw fail("POSTCOPY_RAM_DISCARD range " + start + "+" + bytes + " is not whole pages within block '"
                        + blocks.get(block).idstr() + "' of " + blockLengths[block] + " bytes");
            }
        }
        for (int r = first; r < at + length; r += 16) {
            listener.postcopyDiscard(block, in.getLong(r) >>> PAGE_SHIFT, in.getLong(r + 8) >>> PAGE_SHIFT);
        }
    }

    /**
     * RECV_BITMAP: {@code | u8 n | n bytes block idstr |}, the command length being 1 + n (checked as
     * soon as the name's length byte is in, so a bogus length is never waited for).
     */
    private boolean recvBitmap(ByteBuf in, int i, int r, int length) {
        if (length < 2) {
            throw fail("MIG_CMD RECV_BITMAP has bad length " + length + " (expected 1 + block name length)");
        }
        if (r < 6) {
            return false;
        }
        int nameLength = in.getUnsignedByte(i + 5);
        if (nameLength != length - 1) {
            throw fail("MIG_CMD RECV_BITMAP has bad length " + length + " for a block name of " + nameLength
                    + " bytes (expected " + (1 + nameLength) + ")");
        }
        checkCountedStringLength(nameLength, "RECV_BITMAP block name");
        if (r < 5 + length) {
            return false;
        }
        if (blocks == null) {
            throw fail("MIG_CMD RECV_BITMAP before the RAM block list");
        }
        int block = findBlock(in, i + 6, nameLength);
        if (block < 0) {
            throw fail("MIG_CMD RECV_BITMAP for unknown RAM block '"
                    + in.toString(i + 6, nameLength, StandardCharsets.UTF_8) + "'");
        }
        consume(in, 5 + length);
        listener.recvBitmap(block);
        return true;
    }

    private static String commandRefusal(int command) {
        String name = switch (command) {
            case 3 -> "POSTCOPY_ADVISE";
            case 4 -> "POSTCOPY_LISTEN";
            case 5 -> "POSTCOPY_RUN";
            case 6 -> "POSTCOPY_RAM_DISCARD";
            case 7 -> "PACKAGED";
            case 8 -> "ENABLE_COLO";
            case 9 -> "POSTCOPY_RESUME";
            case 10 -> "RECV_BITMAP";
            case 11 -> "SWITCHOVER_START";
            default -> null;
        };
        return name == null
                ? String.format("MIG_CMD 0x%x unknown", command)
                : String.format("MIG_CMD %s (0x%x) is not supported", name, command);
    }

    // ---------------------------------------------------------------- RAM

    private boolean ramRecord(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < WORD) {
            return false;
        }
        long word = in.getLong(i);
        int flags = (int) (word & PAGE_FLAGS_MASK);
        long offset = word & ~(long) PAGE_FLAGS_MASK;

        if (flags == (PAGE | CONTINUE) || flags == PAGE || flags == (ZERO | CONTINUE) || flags == ZERO) {
            return pageRecord(in, i, r, flags, offset);
        }
        if (preempt) {
            throw fail(String.format("The post-copy preempt channel carries only ZERO and PAGE records, not flags 0x%x"
                    + " (word 0x%016x)", flags, word));
        }
        if ((flags & ~RamFlag.FLAG_BITS) != 0) {
            throw fail(String.format("RAM record address 0x%x is not aligned to the %d-byte page (word 0x%016x)",
                    word & ~(long) RamFlag.FLAG_BITS, PAGE_SIZE, word));
        }
        if (flags == EOS) {
            if (offset != 0) {
                throw fail(String.format("RAM end-of-section word 0x%016x has a non-zero address", word));
            }
            if (sectionType == StreamFormat.SECTION_START && blocks == null) {
                throw fail("RAM START section ended without a RAM block list");
            }
            consume(in, WORD);
            state = State.FOOTER;
            return true;
        }
        if (flags == MULTIFD_FLUSH) {
            if (offset != 0) {
                throw fail(String.format("MULTIFD_FLUSH word 0x%016x has a non-zero address", word));
            }
            consume(in, WORD);
            held = !listener.multifdFlush();
            return !held;
        }
        if (flags == MEM_SIZE) {
            if (sectionType != StreamFormat.SECTION_START) {
                throw fail("RAM block list in a " + StreamFormat.sectionTypeName(sectionType)
                        + " section (only START may carry it)");
            }
            if (blocks != null) {
                throw fail("Duplicate RAM block list");
            }
            consume(in, WORD);
            pendingBlocks = new ArrayList<>();
            blockListTotal = offset;
            blockListRemaining = offset;
            if (offset == 0) {
                completeBlockList();
            } else {
                state = State.RAM_BLOCK_LIST;
            }
            return true;
        }
        throw fail(unknownFlags(flags));
    }

    private static String unknownFlags(int flags) {
        String reason = "";
        int base = flags & ~CONTINUE;
        if (Integer.bitCount(base) == 1) {
            RamFlag flag = RamFlag.valueOf(base);
            if (flag == RamFlag.XBZRLE) {
                reason = " (XBZRLE pages are not supported)";
            } else if (flag.reserved()) {
                reason = " (" + flag + " is retired or unsupported)";
            } else if ((flags & CONTINUE) != 0) {
                reason = " (CONTINUE only goes with ZERO or PAGE)";
            }
        } else if (base == 0) {
            reason = (flags == 0) ? " (no flag set)" : " (CONTINUE alone)";
        }
        return String.format("Unknown combination of migration flags: 0x%x%s", flags, reason);
    }

    /**
     * ZERO or PAGE record. Everything is checked — block, offset, and that the whole record has
     * arrived — before the listener hears of it.
     */
    private boolean pageRecord(ByteBuf in, int i, int r, int flags, long offset) {
        if (blocks == null) {
            throw fail("RAM page record before the RAM block list");
        }
        int at = WORD;
        int block;
        if ((flags & CONTINUE) != 0) {
            block = lastBlock;
            if (block < 0) {
                throw fail("Ack, bad migration stream! RAM record with CONTINUE before any block was named");
            }
        } else {
            if (r < at + 1) {
                return false;
            }
            int length = in.getUnsignedByte(i + at);
            if (r < at + 1 + length) {
                return false;
            }
            block = findBlock(in, i + at + 1, length);
            if (block < 0) {
                throw fail("Unknown ramblock \"" + in.toString(i + at + 1, length, StandardCharsets.UTF_8)
                        + "\", cannot accept migration");
            }
            at += 1 + length;
        }
        if (Long.compareUnsigned(offset, blockLengths[block]) >= 0) { // unsigned: the top bit is offset too
            throw fail(String.format("Illegal RAM offset 0x%x in block '%s' of 0x%x bytes", offset,
                    blocks.get(block).idstr(), blockLengths[block]));
        }
        long pageIndex = offset >>> PAGE_SHIFT;
        if ((flags & ZERO) != 0) {
            if (r < at + 1) {
                return false;
            }
            int fill = in.getUnsignedByte(i + at);
            consume(in, at + 1);
            lastBlock = block;
            listener.zeroPage(block, pageIndex, fill);
            return true;
        }
        if (r < at + PAGE_SIZE) {
            return false;
        }
        lastBlock = block;
        int dataStart = i + at;
        int dataEnd = dataStart + PAGE_SIZE;
        int writerIndex = in.writerIndex();
        in.setIndex(dataStart, dataEnd);
        try {
            listener.page(block, pageIndex, in);
        } finally {
            in.setIndex(dataEnd, writerIndex);
            position += at + PAGE_SIZE;
        }
        return true;
    }

    private int findBlock(ByteBuf in, int index, int length) {
        byte[][] names = blockNames;
        for (int b = 0; b < names.length; b++) {
            byte[] name = names[b];
            if (name.length != length) {
                continue;
            }
            int k = 0;
            while (k < length && in.getByte(index + k) == name[k]) {
                k++;
            }
            if (k == length) {
                return b;
            }
        }
        return -1;
    }

    /** One block list entry: {@code | u8 n | idstr | be64 used_length |}. */
    private boolean ramBlockEntry(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        int length = in.getUnsignedByte(i);
        if (length == 0) {
            throw fail(String.format("RAM block list does not add up: 0x%x of the announced 0x%x bytes are not"
                    + " covered by any block (next entry has an empty idstr)", blockListRemaining, blockListTotal));
        }
        checkCountedStringLength(length, "RAM block idstr");
        if (r < 1 + length + WORD) {
            return false;
        }
        String idstr = in.toString(i + 1, length, StandardCharsets.UTF_8);
        long usedLength = in.getLong(i + 1 + length);
        if (usedLength <= 0 || usedLength % PAGE_SIZE != 0) {
            throw fail(String.format("RAM block '%s' has length 0x%x, not a positive multiple of %d", idstr,
                    usedLength, PAGE_SIZE));
        }
        if (usedLength > blockListRemaining) {
            throw fail(String.format("RAM block list does not add up: block '%s' of 0x%x bytes exceeds the"
                    + " 0x%x bytes left of the announced total 0x%x", idstr, usedLength, blockListRemaining,
                    blockListTotal));
        }
        for (RamBlockInfo known : pendingBlocks) {
            if (known.idstr().equals(idstr)) {
                throw fail("Duplicate RAM block '" + idstr + "' in the block list");
            }
        }
        if (pendingBlocks.size() >= limits.maxRamBlocks()) {
            throw fail("RAM block list has more than " + limits.maxRamBlocks() + " blocks");
        }
        consume(in, 1 + length + WORD);
        pendingBlocks.add(new RamBlockInfo(idstr, usedLength));
        blockListRemaining -= usedLength;
        if (blockListRemaining == 0) {
            completeBlockList();
        }
        return true;
    }

    private void completeBlockList() {
        blocks = List.copyOf(pendingBlocks);
        pendingBlocks = null;
        blockNames = new byte[blocks.size()][];
        blockLengths = new long[blocks.size()];
        for (int b = 0; b < blocks.size(); b++) {
            blockNames[b] = blocks.get(b).idstr().getBytes(StandardCharsets.UTF_8);
            blockLengths[b] = blocks.get(b).usedLength();
        }
        state = State.RAM_RECORD;
        listener.ramBlocks(blocks);
    }

    private boolean ramFooter(ByteBuf in) {
        if (!footerOk(in, in.readerIndex())) {
            return false;
        }
        consume(in, FOOTER_SIZE);
        state = State.SECTION;
        if (sectionIdstr.equals(StreamFormat.BLOCK_SECTION)) {
            listener.endOfBlockSection(sectionType);
        } else {
            listener.endOfRamSection(sectionType);
        }
        return true;
    }

    // ---------------------------------------------------------------- block migration

    private static final int BLOCK_FLAGS_MASK = (1 << StreamFormat.SECTOR_BITS) - 1;

    /** {@code | be64 offset|flags | [u8 n | device name] |}; data follows in BLOCK_DATA. */
    private boolean blockRecord(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < WORD) {
            return false;
        }
        long word = in.getLong(i);
        int flags = (int) (word & BLOCK_FLAGS_MASK);
        long value = word & ~(long) BLOCK_FLAGS_MASK;
        if (flags == StreamFormat.BLOCK_FLAG_EOS) {
            if (value != 0) {
                throw fail(String.format("block end-of-section word 0x%016x has a non-zero offset", word));
            }
            consume(in, WORD);
            state = State.FOOTER;
            return true;
        }
        if (flags == StreamFormat.BLOCK_FLAG_PROGRESS) {
            long percent = value >>> StreamFormat.SECTOR_BITS;
            if (percent > 100) {
                throw fail("block progress of " + percent + "% (word 0x" + Long.toHexString(word) + ")");
            }
            consume(in, WORD);
            listener.blockProgress((int) percent);
            return true;
        }
        boolean zero = flags == (StreamFormat.BLOCK_FLAG_DEVICE_BLOCK | StreamFormat.BLOCK_FLAG_ZERO_BLOCK);
        if (flags != StreamFormat.BLOCK_FLAG_DEVICE_BLOCK && !zero) {
            throw fail(String.format("Unknown block migration flags 0x%x (word 0x%016x)", flags, word));
        }
        if (value < 0) {
            throw fail(String.format("block offset of word 0x%016x is out of range", word));
        }
        if (r < WORD + 1) {
            return false;
        }
        int length = checkCountedStringLength(in.getUnsignedByte(i + WORD), "block device name");
        if (r < WORD + 1 + length) {
            return false;
        }
        String device = in.toString(i + WORD + 1, length, StandardCharsets.UTF_8);
        consume(in, WORD + 1 + length);
        listener.blockChunk(device, value, zero);
        if (!zero) {
            chunkDelivered = 0;
            state = State.BLOCK_DATA;
        }
        return true;
    }

    /** Hands the chunk's data on as it arrives, as {@code in} itself with its indexes narrowed. */
    private boolean blockData(ByteBuf in) {
        int n = Math.min(in.readableBytes(), StreamFormat.BLOCK_CHUNK_BYTES - chunkDelivered);
        if (n == 0) {
            return false;
        }
        int start = in.readerIndex();
        int end = in.writerIndex();
        in.writerIndex(start + n);
        try {
            listener.blockData(chunkDelivered, in);
        } finally {
            in.writerIndex(end);
            in.readerIndex(start);
        }
        consume(in, n);
        chunkDelivered += n;
        if (chunkDelivered == StreamFormat.BLOCK_CHUNK_BYTES) {
            state = State.BLOCK_RECORD;
        }
        return true;
    }

    /** Checks {@code | 0x7E | be32 section id |} at {@code index}; false if not all there yet. */
    private boolean footerOk(ByteBuf in, int index) {
        int available = in.writerIndex() - index;
        if (available < 1) {
            return false;
        }
        byte marker = in.getByte(index);
        if (marker != StreamFormat.SECTION_FOOTER) {
            throw fail(String.format("Missing section footer for %s (found byte 0x%02x)", sectionIdstr, marker));
        }
        if (available < FOOTER_SIZE) {
            return false;
        }
        int id = in.getInt(index + 1);
        if (id != sectionId) {
            throw fail("Mismatched section id in footer for " + sectionIdstr + ": read " + Integer.toUnsignedString(id)
                    + ", expected " + Integer.toUnsignedString(sectionId));
        }
        return true;
    }

    // ---------------------------------------------------------------- device sections

    private boolean devicePayload(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        int max = limits.maxDeviceStateBytes();
        int payloadLength;
        int dataOffset;
        if (deviceFormat == null) {
            if (r < Integer.BYTES) {
                return false;
            }
            long stateLength = in.getUnsignedInt(i);
            if (stateLength > max) {
                throw fail("Device state of section '" + sectionIdstr + "' is " + stateLength + " bytes, limit " + max);
            }
            dataOffset = Integer.BYTES;
            payloadLength = Integer.BYTES + (int) stateLength;
        } else {
            int window = Math.min(r, max + 1);
            int measured = deviceFormat.measure(in.slice(i, window).asReadOnly(), deviceVersion);
            if (measured == DeviceSectionFormat.NEED_MORE) {
                if (window > max) {
                    throw fail("Device state of section '" + sectionIdstr + "' exceeds the limit of " + max + " bytes");
                }
                return false;
            }
            if (measured < 0) {
                throw fail("Device section format of '" + sectionIdstr + "' measured an invalid length " + measured);
            }
            if (measured > max) {
                throw fail("Device state of section '" + sectionIdstr + "' is " + measured + " bytes, limit " + max);
            }
            dataOffset = 0;
            payloadLength = measured;
        }
        if (r < payloadLength + 1) {
            return false;
        }
        if (!footerOk(in, i + payloadLength)) {
            return false;
        }
        ByteBuf payload = in.slice(i + dataOffset, payloadLength - dataOffset);
        listener.deviceState(sectionIdstr, deviceInstance, deviceVersion, payload);
        consume(in, payloadLength + FOOTER_SIZE);
        state = State.SECTION;
        return true;
    }

    // ---------------------------------------------------------------- after EOF

    /** Only {@code | 0x06 | be32 json_len | json |} may follow EOF. */
    private boolean afterEof(ByteBuf in) {
        int i = in.readerIndex();
        byte type = in.getByte(i);
        if (type != StreamFormat.VMDESCRIPTION) {
            throw fail(String.format("Unexpected data after EOF: byte 0x%02x", type));
        }
        if (in.readableBytes() < 5) {
            return false;
        }
        long length = in.getUnsignedInt(i + 1);
        if (length > limits.maxVmDescriptionBytes()) {
            throw fail("VM description is " + length + " bytes, limit " + limits.maxVmDescriptionBytes());
        }
        consume(in, 5);
        vmDescriptionRemaining = length;
        state = length == 0 ? State.DONE : State.VM_DESCRIPTION;
        return true;
    }

    private boolean skipVmDescription(ByteBuf in) {
        int n = (int) Math.min(in.readableBytes(), vmDescriptionRemaining);
        consume(in, n);
        vmDescriptionRemaining -= n;
        if (vmDescriptionRemaining == 0) {
            state = State.DONE;
        }
        return n > 0;
    }

    // ---------------------------------------------------------------- helpers

    private int checkCountedStringLength(int length, String what) {
        if (length == 0) {
            throw fail("Empty " + what);
        }
        if (length > limits.maxIdstrLength()) {
            throw fail(what + " is " + length + " bytes, limit " + limits.maxIdstrLength());
        }
        return length;
    }

    private void consume(ByteBuf in, int n) {
        in.skipBytes(n);
        position += n;
    }

    private String describeState() {
        return switch (state) {
            case RAM_RECORD, RAM_BLOCK_LIST, FOOTER, DEVICE_PAYLOAD, BLOCK_RECORD, BLOCK_DATA ->
                    state + " of " + StreamFormat.sectionTypeName(sectionType) + " section '" + sectionIdstr + "'";
            default -> state.toString();
        };
    }

    private StreamFormatException fail(String message) {
        return new StreamFormatException(message + " (stream offset " + position + ")");
    }
}
