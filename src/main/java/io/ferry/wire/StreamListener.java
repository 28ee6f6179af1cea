package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * What a {@link StreamDecoder} reports, in stream order, on the thread that calls
 * {@link StreamDecoder#feed}. The destination engine implements it.
 *
 * <p>Every callback comes after the decoder has validated the whole element it reports (header,
 * block, offset, length, and for section ends and device state also the section footer). Any
 * callback may throw {@link StreamFormatException} to refuse what it was given; the decoder then
 * fails and rethrows it.
 *
 * <p>ByteBufs passed in are the decoder's input, valid only during the call: read them (with
 * relative or absolute getters), never retain, release, or keep them.
 */
public interface StreamListener {

    /** The source's machine type from the configuration section. Throw to refuse a foreign machine. */
    default void configuration(String machineType) {
    }

    /**
     * A section header was read and accepted, before its payload: {@code type} is
     * {@link StreamFormat#SECTION_START}, {@code _PART}, {@code _END} or {@code _FULL}, and the
     * {@code idstr} of a PART or END is its START's. For tools that list a stream (ferry inspect);
     * a migration needs nothing here.
     */
    default void sectionHeader(byte type, int sectionId, String idstr) {
    }

    /**
     * The RAM block list from the {@code ram} START section, in stream order; block indexes in
     * {@link #page} and {@link #zeroPage} refer to this list. The lengths already add up to the
     * announced total. Check them against the local guest and throw to refuse.
     */
    void ramBlocks(List<RamBlockInfo> blocks);

    /**
     * A PAGE record: {@code data} has exactly {@link StreamFormat#PAGE_SIZE} readable bytes. Copy
     * them into guest memory before returning. Called on the hot path: no allocation expected.
     */
    void page(int blockIndex, long pageIndex, ByteBuf data);

    /** A ZERO record: the page is filled with {@code fill} (0 in practice, 0..255). */
    void zeroPage(int blockIndex, long pageIndex, int fill);

    /**
     * An XBZRLE record (main channel only): {@code encoding}'s readable bytes (1 to
     * {@link StreamFormat#PAGE_SIZE}) describe the page against the copy this side holds, and were
     * checked whole against the page size ({@link Xbzrle#check}), so {@link Xbzrle#decode} into that
     * page cannot fail on them. Apply them before returning, as QEMU's {@code load_xbzrle} does; throw
     * to refuse one where this side's copy is not the one the source encoded against (post-copy).
     * Default: refused.
     */
    default void xbzrlePage(int blockIndex, long pageIndex, ByteBuf encoding) {
        throw new StreamFormatException("XBZRLE pages are not accepted by this destination");
    }

    /**
     * The RAM payload of a START, PART or END section ended (EOS) and its footer was correct.
     *
     * @param sectionType {@link StreamFormat#SECTION_START}, {@code _PART} or {@code _END}
     */
    default void endOfRamSection(byte sectionType) {
    }

    /**
     * A FULL section's payload, after its footer was checked. For Ferry's
     * {@link StreamFormat#DEVICE_STATE_SECTION} {@code payload} is the state bytes without their
     * be32 length prefix; for any other idstr it is the whole payload measured by its
     * {@link DeviceSectionFormat}.
     */
    void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload);

    /**
     * How long the payload of a FULL section with this idstr is, or {@code null} if the listener
     * does not know the device (the decoder then fails with "Unknown savevm section"). Not asked
     * for {@link StreamFormat#DEVICE_STATE_SECTION}, which the decoder knows. Throw to refuse an
     * unsupported version.
     */
    default DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
        return null;
    }

    /**
     * The START of QEMU's {@code block} section (disk images streamed beside RAM). The default
     * refuses it: a listener that cannot take disks stops the stream before any of their data.
     */
    default void blockSectionStart() {
        throw new StreamFormatException("Unknown savevm section 'block': this destination does not take disk images");
    }

    /**
     * A DEVICE_BLOCK record's header, validated: the chunk of {@code device} at {@code byteOffset}
     * (a multiple of 512). With {@code zero} the chunk is all zero and no data follows; otherwise
     * exactly {@link StreamFormat#BLOCK_CHUNK_BYTES} follow through {@link #blockData}. Throw to
     * refuse an unknown device or an offset outside it.
     */
    default void blockChunk(String device, long byteOffset, boolean zero) {
        throw new StreamFormatException("block data for device '" + device + "' is not expected");
    }

    /**
     * A slice of the current chunk's data, as it arrives: {@code offsetInChunk} is where the
     * slice starts within the chunk; slices are contiguous and total
     * {@link StreamFormat#BLOCK_CHUNK_BYTES}. Read {@code data}'s readable bytes before returning.
     */
    default void blockData(long offsetInChunk, ByteBuf data) {
    }

    /** A PROGRESS record: the source's completion percentage of its bulk pass. */
    default void blockProgress(int percent) {
    }

    /** The records of a {@code block} START, PART or END section ended (EOS) and its footer was correct. */
    default void endOfBlockSection(byte sectionType) {
    }

    /** COMMAND POSTCOPY_ADVISE (page sizes already checked). Default: post-copy is refused. */
    default void postcopyAdvise() {
        throw new StreamFormatException("MIG_CMD POSTCOPY_ADVISE (0x3) is not supported by this destination");
    }

    /** One range of a POSTCOPY_RAM_DISCARD, in pages: drop them, they will be sent (or requested) again. */
    default void postcopyDiscard(int blockIndex, long firstPage, long pages) {
        throw new StreamFormatException("MIG_CMD POSTCOPY_RAM_DISCARD (0x6) is not supported by this destination");
    }

    /** COMMAND POSTCOPY_LISTEN. */
    default void postcopyListen() {
        throw new StreamFormatException("MIG_CMD POSTCOPY_LISTEN (0x4) is not supported by this destination");
    }

    /** COMMAND POSTCOPY_RUN: the destination runs the guest from here; missing pages are requested. */
    default void postcopyRun() {
        throw new StreamFormatException("MIG_CMD POSTCOPY_RUN (0x5) is not supported by this destination");
    }

    /**
     * COMMAND RECV_BITMAP, post-copy recovery: the source asks which pages of this block the
     * destination holds. Answer with {@link ReturnPathMessage.ReceivedBitmap}; the source sends the
     * others again. Default: recovery is refused.
     */
    default void recvBitmap(int blockIndex) {
        throw new StreamFormatException("MIG_CMD RECV_BITMAP (0xa) is not expected here: post-copy recovery is not"
                + " supported by this destination");
    }

    /**
     * COMMAND POSTCOPY_RESUME, post-copy recovery: the source goes on sending pages and serving
     * requests. Answer with {@link ReturnPathMessage.ResumeAck} and send the page requests still
     * pending. Default: recovery is refused.
     */
    default void postcopyResume() {
        throw new StreamFormatException("MIG_CMD POSTCOPY_RESUME (0x9) is not expected here: post-copy recovery is"
                + " not supported by this destination");
    }

    /**
     * COMMAND PACKAGED ({@link StreamFormat#CMD_PACKAGED}): QEMU's post-copy switch, whose
     * {@code length} bytes (LISTEN, the device state without a vmdesc, PINGs, RUN) follow. Return
     * true to have the decoder pass over them unread, counted only (a relay that hands them to a
     * QEMU); the default refuses the command, as Ferry's own destination does not load QEMU's
     * device state.
     */
    default boolean packaged(long length) {
        return false;
    }

    /** COMMAND OPEN_RETURN_PATH: the source expects return-path messages on this connection. */
    default void openReturnPath() {
    }

    /** COMMAND PING: answer with {@link ReturnPathMessage.Pong} carrying {@code value}. */
    default void ping(int value) {
    }

    /** The EOF byte: all device state has been read. */
    void endOfStream();

    /**
     * A MULTIFD_FLUSH word: the pages the multifd channels carried up to their SYNC packets must
     * be placed before anything after this word. Return true to read on now, false to hold the
     * decoder there until {@link StreamDecoder#release()}. Without multifd channels the word is
     * a protocol error.
     */
    default boolean multifdFlush() {
        throw new StreamFormatException("MULTIFD_FLUSH on a stream without multifd channels");
    }
}
