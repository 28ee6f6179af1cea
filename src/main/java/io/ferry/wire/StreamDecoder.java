package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

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
 * <p>Ferry reads precopy streams with XBZRLE pages (checked whole before the listener applies
 * them), multifd's MULTIFD_FLUSH words, without RDMA or the retired flags, which are refused by name,
 * and post-copy's commands (ADVISE, RAM_DISCARD, LISTEN, RUN, and recovery's RECV_BITMAP and
 * POSTCOPY_RESUME) besides OPEN_RETURN_PATH and PING, and QEMU's PACKAGED passed over unread where
 * the listener opts in ({@link StreamListener#packaged}: the QEMU relay); other commands are
 * refused by name.
 *
 * <p>Post-copy recovery: the source reconnects and goes on without a header on the new connection.
 * The destination keeps this decoder, with what it learned (section ids, RAM blocks), and calls
 * {@link #continueOnNewStream} before feeding the new connection's bytes.
 *
 * <p>Post-copy preempt channel ({@link #forPreemptChannel}): QEMU's second connection for requested
 * pages carries RAM page records only — no header, no sections, no end — with its own "last
 * block" for CONTINUE; the blocks are the ones the main channel announced.
 *
 * <p>This class reads the top level (section headers and footers, EOF and what may follow it) and
 * hands the rest to its parts: {@link StreamHeaderDecoder} (header and configuration),
 * {@link CommandDecoder}, {@link RamRecordDecoder}, {@link BlockRecordDecoder} and
 * {@link DeviceSectionDecoder}.
 */
public final class StreamDecoder {

    private final DecoderContext context;
    private final StreamHeaderDecoder streamHeader;
    private final RamRecordDecoder ram;
    private final BlockRecordDecoder blockRecords;
    private final CommandDecoder commands;
    private final DeviceSectionDecoder devices;
    private final VmDescriptionTail vmDescription;

    // All fields are confined to the thread that calls feed().
    private DecoderState state = DecoderState.HEADER;
    private RuntimeException failure;
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


    // The "block" section: its id from START, and whether END was read.
    private boolean blockStarted;
    private boolean blockEnded;
    private int blockSectionId;

    public StreamDecoder(StreamListener listener, DecoderLimits limits) {
        this(listener, limits, false);
    }

    private StreamDecoder(StreamListener listener, DecoderLimits limits, boolean preempt) {
        this.context = new DecoderContext(listener, limits);
        this.streamHeader = new StreamHeaderDecoder(context);
        this.ram = new RamRecordDecoder(context, preempt);
        this.blockRecords = new BlockRecordDecoder(context);
        this.commands = new CommandDecoder(context, ram);
        this.devices = new DeviceSectionDecoder(context);
        this.vmDescription = new VmDescriptionTail(context);
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
        decoder.ram.useBlocks(blocks);
        decoder.state = DecoderState.RAM_RECORD;
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
        if (state == DecoderState.FAILED) {
            throw new IllegalStateException("Stream decoder already failed: " + failure.getMessage(), failure);
        }
        try {
            while (!ram.held() && in.isReadable() && step(in)) {
                // each step consumed one element
            }
        } catch (RuntimeException e) {
            state = DecoderState.FAILED;
            failure = e;
            throw e;
        }
    }

    /** Whether the decoder waits after a MULTIFD_FLUSH (see {@link StreamListener#multifdFlush()}). */
    public boolean held() {
        return ram.held();
    }

    /** Lets a decoder held at a MULTIFD_FLUSH read on; the caller then feeds the bytes it left unread. */
    public void release() {
        ram.release();
    }

    /** Whether the EOF byte has been read (a vmdesc may still be being skipped). */
    public boolean finished() {
        return state == DecoderState.AFTER_EOF || state == DecoderState.VM_DESCRIPTION || state == DecoderState.DONE;
    }

    /** Whether an error was thrown. */
    public boolean failed() {
        return state == DecoderState.FAILED;
    }

    /** Bytes consumed so far from the current connection (counted from 0 again by {@link #continueOnNewStream}). */
    public long position() {
        return context.position;
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
        state = DecoderState.SECTION;
        commands.packageRemaining = 0;
        context.position = 0;
        configurationSubsectionsAllowed = false;
        ram.continueOnNewStream();
        devices.continueOnNewStream();
        blockRecords.continueOnNewStream();
    }

    /**
     * The peer closed its side: fails unless EOF was read. A vmdesc cut short is tolerated, as
     * QEMU only drains it.
     *
     * @throws StreamFormatException naming where the stream stopped
     */
    public void endOfInput() {
        if (state == DecoderState.FAILED) {
            throw new IllegalStateException("Stream decoder already failed: " + failure.getMessage(), failure);
        }
        if (!finished()) {
            StreamFormatException truncated = new StreamFormatException("Migration stream truncated in state "
                    + describeState() + " after " + context.position + " bytes");
            state = DecoderState.FAILED;
            failure = truncated;
            throw truncated;
        }
    }

    private boolean step(ByteBuf in) {
        return switch (state) {
            case HEADER -> header(in);
            case CONFIGURATION -> configuration(in);
            case SECTION -> section(in);
            case RAM_RECORD -> advance(ram.record(in, sectionType));
            case RAM_BLOCK_LIST -> advance(ram.blockListEntry(in));
            case FOOTER -> sectionFooter(in);
            case BLOCK_RECORD -> advance(blockRecords.record(in));
            case BLOCK_DATA -> advance(blockRecords.data(in));
            case DEVICE_PAYLOAD -> devicePayload(in);
            case PACKAGE -> skipPackage(in);
            case AFTER_EOF -> afterEof(in);
            case VM_DESCRIPTION -> skipVmDescription(in);
            case DONE -> throw context.fail("Unexpected data after the end of the migration stream (after the vmdesc)");
            case FAILED -> throw new IllegalStateException("failed");
        };
    }

    /** Goes on in {@code next}, the state a part returned after reading an element; null: it read none. */
    private boolean advance(DecoderState next) {
        if (next == null) {
            return false;
        }
        state = next;
        return true;
    }

    // ---------------------------------------------------------------- header and configuration

    private boolean header(ByteBuf in) {
        if (!streamHeader.header(in)) {
            return false;
        }
        state = DecoderState.CONFIGURATION;
        return true;
    }

    private boolean configuration(ByteBuf in) {
        String machineType = streamHeader.configuration(in);
        if (machineType == null) {
            return false;
        }
        state = DecoderState.SECTION;
        configurationSubsectionsAllowed = true;
        context.listener.configuration(machineType);
        return true;
    }

    // ---------------------------------------------------------------- top level

    private boolean section(ByteBuf in) {
        byte type = in.getByte(in.readerIndex());
        if (type == StreamFormat.SUBSECTION) {
            if (!configurationSubsectionsAllowed) {
                throw context.fail("Subsection byte 0x05 at top level, outside the configuration section");
            }
            return streamHeader.configurationSubsection(in);
        }
        configurationSubsectionsAllowed = false;
        switch (type) {
            case StreamFormat.SECTION_START, StreamFormat.SECTION_FULL:
                return sectionHeader(in, type);
            case StreamFormat.SECTION_PART, StreamFormat.SECTION_END:
                return sectionPart(in, type);
            case StreamFormat.EOF:
                context.consume(in, 1);
                state = DecoderState.AFTER_EOF;
                context.listener.endOfStream();
                return true;
            case StreamFormat.COMMAND:
                if (!commands.command(in)) {
                    return false;
                }
                if (commands.packageRemaining > 0) {
                    state = DecoderState.PACKAGE;
                }
                return true;
            case StreamFormat.CONFIGURATION:
                throw context.fail("Duplicate configuration section");
            case StreamFormat.VMDESCRIPTION:
                throw context.fail("VM description (0x06) before EOF");
            case StreamFormat.SECTION_FOOTER:
                throw context.fail("Section footer (0x7e) outside a section");
            default:
                throw context.fail(String.format("Unknown section type 0x%02x", type));
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
        int idLength = context.checkCountedStringLength(in.getUnsignedByte(i + 5), "section idstr");
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
                throw context.fail("Section 'ram' must be iterative (START/PART/END), got " + typeName);
            }
            if (instance != 0) {
                throw context.fail("Unknown savevm section or instance 'ram' " + Integer.toUnsignedString(instance));
            }
            if (version != StreamFormat.RAM_SECTION_VERSION) {
                throw context.fail("savevm: unsupported version " + version + " for 'ram' v"
                        + StreamFormat.RAM_SECTION_VERSION);
            }
            if (ramStarted) {
                throw context.fail("Duplicate START section for 'ram'");
            }
            context.consume(in, size);
            ramStarted = true;
            ramSectionId = id;
            beginSection(type, id, idstr);
            state = DecoderState.RAM_RECORD;
            return true;
        }
        if (idstr.equals(StreamFormat.BLOCK_SECTION)) {
            if (type != StreamFormat.SECTION_START) {
                throw context.fail("Section 'block' must be iterative (START/PART/END), got " + typeName);
            }
            if (instance != 0) {
                throw context.fail("Unknown savevm section or instance 'block' " + Integer.toUnsignedString(instance));
            }
            if (version != StreamFormat.BLOCK_SECTION_VERSION) {
                throw context.fail("savevm: unsupported version " + version + " for 'block' v"
                        + StreamFormat.BLOCK_SECTION_VERSION);
            }
            if (blockStarted) {
                throw context.fail("Duplicate START section for 'block'");
            }
            if (ramStarted && id == ramSectionId) {
                throw context.fail("START section 'block' reuses section id " + Integer.toUnsignedString(id)
                        + " of 'ram'");
            }
            context.consume(in, size);
            blockStarted = true;
            blockSectionId = id;
            beginSection(type, id, idstr);
            state = DecoderState.BLOCK_RECORD;
            context.listener.blockSectionStart();
            return true;
        }
        if (type == StreamFormat.SECTION_START) {
            throw context.fail("Unknown savevm section '" + idstr + "' instance " + Integer.toUnsignedString(instance)
                    + " in a START section (Ferry's iterative sections are 'ram' and 'block')");
        }
        if (ramStarted && id == ramSectionId) {
            throw context.fail("FULL section '" + idstr + "' reuses section id " + Integer.toUnsignedString(id)
                    + " of 'ram'");
        }
        if (blockStarted && id == blockSectionId) {
            throw context.fail("FULL section '" + idstr + "' reuses section id " + Integer.toUnsignedString(id)
                    + " of 'block'");
        }
        devices.begin(idstr, instance, version);
        context.consume(in, size);
        beginSection(type, id, idstr);
        state = DecoderState.DEVICE_PAYLOAD;
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
                throw context.fail(typeName + " section for 'block' (id " + Integer.toUnsignedString(id)
                        + ") after its END section");
            }
            context.consume(in, 5);
            blockEnded = type == StreamFormat.SECTION_END;
            beginSection(type, id, StreamFormat.BLOCK_SECTION);
            state = DecoderState.BLOCK_RECORD;
            return true;
        }
        if (!ramStarted || id != ramSectionId) {
            throw context.fail("Unknown section id " + Integer.toUnsignedString(id) + " in a " + typeName + " section");
        }
        if (ramEnded) {
            throw context.fail(typeName + " section for 'ram' (id " + Integer.toUnsignedString(id)
                    + ") after its END section");
        }
        context.consume(in, 5);
        if (type == StreamFormat.SECTION_END) {
            ramEnded = true;
        }
        beginSection(type, id, StreamFormat.RAM_SECTION);
        state = DecoderState.RAM_RECORD;
        return true;
    }

    private void beginSection(byte type, int id, String idstr) {
        sectionType = type;
        sectionId = id;
        sectionIdstr = idstr;
        context.listener.sectionHeader(type, id, idstr);
    }

    /** 0x7E + be32 id closing a 'ram' or 'block' section. */
    private boolean sectionFooter(ByteBuf in) {
        if (!context.footerOk(in, in.readerIndex(), sectionId, sectionIdstr)) {
            return false;
        }
        context.consume(in, DecoderContext.FOOTER_SIZE);
        state = DecoderState.SECTION;
        if (sectionIdstr.equals(StreamFormat.BLOCK_SECTION)) {
            context.listener.endOfBlockSection(sectionType);
        } else {
            context.listener.endOfRamSection(sectionType);
        }
        return true;
    }

    /** A FULL section's payload and footer. */
    private boolean devicePayload(ByteBuf in) {
        if (!devices.payload(in, sectionId, sectionIdstr)) {
            return false;
        }
        state = DecoderState.SECTION;
        return true;
    }

    // ---------------------------------------------------------------- after EOF

    /** Only the vmdesc may follow EOF ({@link VmDescriptionTail}). */
    private boolean afterEof(ByteBuf in) {
        if (!vmDescription.header(in)) {
            return false;
        }
        state = vmDescription.done() ? DecoderState.DONE : DecoderState.VM_DESCRIPTION;
        return true;
    }

    /** The nested stream of an accepted PACKAGED command: passed over, unread. */
    private boolean skipPackage(ByteBuf in) {
        int n = (int) Math.min(in.readableBytes(), commands.packageRemaining);
        context.consume(in, n);
        commands.packageRemaining -= n;
        if (commands.packageRemaining == 0) {
            state = DecoderState.SECTION;
        }
        return n > 0;
    }

    private boolean skipVmDescription(ByteBuf in) {
        boolean consumed = vmDescription.skip(in);
        if (vmDescription.done()) {
            state = DecoderState.DONE;
        }
        return consumed;
    }

    private String describeState() {
        return switch (state) {
            case RAM_RECORD, RAM_BLOCK_LIST, FOOTER, DEVICE_PAYLOAD, BLOCK_RECORD, BLOCK_DATA ->
                    state + " of " + StreamFormat.sectionTypeName(sectionType) + " section '" + sectionIdstr + "'";
            default -> state.toString();
        };
    }
}
