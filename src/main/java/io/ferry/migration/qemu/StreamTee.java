package io.ferry.migration.qemu;

import io.ferry.wire.DecoderLimits;
import io.ferry.wire.DeviceSectionFormat;
import io.ferry.wire.RamBlockInfo;
import io.ferry.wire.StreamDecoder;
import io.ferry.wire.StreamFormat;
import io.ferry.wire.StreamFormatException;
import io.ferry.wire.StreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/**
 * The relay's reading of a QEMU stream on its way through: every byte QEMU writes goes to
 * {@link StreamDecoder} and is passed on only once the decoder has read it as part of a whole,
 * valid element. Not a re-encoding: the bytes passed on are the ones that came in (the same
 * buffers, sliced), the decoder reads a second view of them.
 *
 * <pre>
 *   offer(chunk) ──► unforwarded queue ──(up to the checked offset)──► forward
 *              └──► decoder's view (a duplicate; a split element copied) ──► StreamDecoder ──► progress
 * </pre>
 *
 * <p>Checked offset: the decoder's position (the end of the last element it accepted), except in
 * the device-state tail. QEMU's FULL sections carry no lengths and the vmdesc JSON that describes
 * them comes after EOF; so from the first FULL section on, the tail is held (not decoded, not
 * passed on) until the bytes received end with {@code | 0x00 EOF | 0x06 | be32 n | n bytes of JSON |};
 * then the decoder reads the tail with the layouts the JSON gives ({@link DeviceTailLayout}) and,
 * if it accepts it all, the tail goes on. QEMU writes the tail, EOF and the vmdesc in one go at
 * switchover, so holding it costs the time to read some tens of KiB, not a round trip.
 *
 * <p>Refusal: the first error stops the tee for good. Nothing at or after the refusal point has
 * been forwarded (bytes before it in the same chunk are), nor anything of the device tail when the
 * refusal is in it (the tail goes on whole or not at all), and {@link Refusal} names the decoder's
 * reason and the stream offset.
 *
 * <p>Confined to one thread (the relay's event loop), except {@link #progress()}.
 */
final class StreamTee implements AutoCloseable {

    /** The decoder refused the stream: its reason, at this stream offset. */
    static final class Refusal extends RuntimeException {
        private final long offset;

        Refusal(String reason, long offset, Throwable cause) {
            super(reason, cause);
            this.offset = offset;
        }

        long offset() {
            return offset;
        }
    }

    private final Consumer<ByteBuf> forward;
    private final long maxHeldBytes;
    private final StreamDecoder decoder;
    /** What was received and not forwarded yet, as it came in. */
    private final ArrayDeque<ByteBuf> unforwarded = new ArrayDeque<>();
    /**
     * Received bytes the decoder has not consumed: an element split across two reads (topped up
     * {@link #TOP_UP_BYTES} at a time until it is whole, then decoding goes on in the read itself),
     * or the held device tail. Everything else is decoded straight from the read: one copy of
     * QEMU's bytes less than putting every read into one buffer.
     */
    private final ByteBuf pending = Unpooled.buffer(16 << 10);
    private static final int TOP_UP_BYTES = 1024;
    private Refusal refusal;
    private boolean closed;

    private long received;
    private long forwarded;
    /** Offset of the first FULL section's type byte; -1 before the device tail. */
    private long tailStart = -1;
    /** The vmdesc's layouts, once read; null before. */
    private DeviceTailLayout layout;

    // progress, written by the decoder's callbacks
    private String machineType;
    private int ramBlocks;
    private long ramTotal;
    private long normalPages;
    private long zeroPages;
    private long xbzrlePages;
    private long ramSectionBytes;
    private long ramSectionStart = -1;
    private long ramSections;
    private long ramPasses;
    private int lastBlock = -1;
    private long lastPage = -1;
    private int deviceSections;
    private boolean endOfStream;
    private long packageBytes;
    private volatile StreamProgress progress = StreamProgress.NONE;

    /**
     * @param forward      takes the checked bytes in order (ownership passes)
     * @param maxHeldBytes most bytes held for the device tail before the stream is refused
     */
    StreamTee(DecoderLimits limits, long maxHeldBytes, Consumer<ByteBuf> forward) {
        this.forward = forward;
        this.maxHeldBytes = maxHeldBytes;
        this.decoder = new StreamDecoder(new Counting(), limits);
    }

    /**
     * Takes {@code chunk} (ownership passes), reads what it can and forwards what is checked.
     *
     * @throws Refusal if the decoder refused the stream, now or before
     */
    void offer(ByteBuf chunk) {
        if (refusal != null) {
            chunk.release();
            throw refusal;
        }
        int n = chunk.readableBytes();
        received += n;
        unforwarded.add(chunk);
        ByteBuf view = chunk.duplicate();   // the decoder's indexes; the queue keeps the chunk's own
        try {
            if (!held()) {
                if (pending.isReadable()) {
                    topUp(view);
                }
                if (view.isReadable() && !held()) {
                    decode(view);
                }
            }
            if (view.isReadable()) {
                pending.writeBytes(view);
            }
            if (held()) {
                awaitVmDescription();
            }
        } finally {
            forwardChecked();
            publish();
        }
    }

    /**
     * QEMU closed its side: the stream must have ended (EOF and vmdesc read).
     *
     * @throws Refusal naming where it stopped otherwise
     */
    void endOfInput() {
        if (refusal != null) {
            throw refusal;
        }
        if (tailStart >= 0 && layout == null) {
            throw refuse("The stream ended in the device state without the vmdesc JSON that describes it (a machine "
                    + "with suppress-vmdesc?): the relay cannot check it", tailStart, null);
        }
        try {
            decoder.endOfInput();
        } catch (StreamFormatException e) {
            throw refuse(e.getMessage(), decoder.position(), e);
        }
    }

    /**
     * Whether the whole stream was read and forwarded: through EOF and, when the device state
     * came as FULL sections (pre-copy), the vmdesc that checked them. A post-copy stream ends with
     * EOF, its device state having gone in the package.
     */
    boolean complete() {
        return (layout != null || tailStart < 0) && decoder.finished() && forwarded == received;
    }

    StreamProgress progress() {
        return progress;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (!unforwarded.isEmpty()) {
            unforwarded.poll().release();
        }
        pending.release();
    }

    /** In the device tail, before its vmdesc: bytes are kept, not decoded. */
    private boolean held() {
        return tailStart >= 0 && layout == null;
    }

    /** Completes the split element in {@link #pending} from {@code view}; what follows it stays in {@code view}. */
    private void topUp(ByteBuf view) {
        while (view.isReadable() && pending.isReadable() && !held()) {
            int added = Math.min(view.readableBytes(), TOP_UP_BYTES);
            pending.writeBytes(view, added);
            decode(pending);
            int left = pending.readableBytes();
            if (left <= added) {
                // the split element is whole: decode what follows it from the read itself
                view.readerIndex(view.readerIndex() - left);
                pending.clear();
            }
        }
        if (held() && pending.isReadable()) {
            return;   // the tail started inside the top-up: it stays in pending, the rest of the read joins it
        }
        pending.discardReadBytes();
    }

    private void decode(ByteBuf in) {
        try {
            decoder.feed(in);
        } catch (StreamFormatException e) {
            throw refuse(e.getMessage(), decoder.position(), e);
        }
    }

    /** Held in the device tail: read it once the bytes end with EOF and the whole vmdesc. */
    private void awaitVmDescription() {
        if (received - tailStart > maxHeldBytes) {
            throw refuse("Device state without its vmdesc after " + (received - tailStart) + " bytes (limit "
                    + maxHeldBytes + ")", tailStart, null);
        }
        int end = pending.writerIndex();
        if (end == pending.readerIndex() || pending.getByte(end - 1) != '}') {
            return;   // QEMU's JSON ends with the object's brace
        }
        byte[] tail = new byte[pending.readableBytes()];
        pending.getBytes(pending.readerIndex(), tail);
        // from the end: the shortest candidate first, a "0x00 0x06" inside the JSON is tried after the real frame
        for (int p = tail.length - 6; p >= 1; p--) {
            if (tail[p] == StreamFormat.VMDESCRIPTION && tail[p - 1] == StreamFormat.EOF && tail[p + 5] == '{'
                    && (((tail[p + 1] & 0xFFL) << 24) | ((tail[p + 2] & 0xFF) << 16) | ((tail[p + 3] & 0xFF) << 8)
                    | (tail[p + 4] & 0xFF)) == tail.length - p - 5) {
                byte[] json = java.util.Arrays.copyOfRange(tail, p + 5, tail.length);
                try {
                    layout = DeviceTailLayout.parse(json).orElse(null);
                } catch (StreamFormatException e) {
                    throw refuse(e.getMessage(), received - json.length, e);
                }
                if (layout != null) {
                    decode(pending);
                    if (!decoder.finished() || pending.isReadable()) {
                        throw refuse("The device state did not end where its vmdesc does", decoder.position(), null);
                    }
                    return;
                }
            }
        }
    }

    private Refusal refuse(String reason, long offset, Throwable cause) {
        String suffix = " (stream offset " + offset + ")";
        String text = reason != null && reason.endsWith(suffix) ? reason.substring(0, reason.length() - suffix.length())
                : reason;
        refusal = new Refusal(text, offset, cause);
        return refusal;
    }

    /** Forwards up to the checked offset: the decoder's position, or the tail's start while the tail is held. */
    private void forwardChecked() {
        long checked = tailStart >= 0 && layout == null ? tailStart : decoder.position();
        if (refusal != null) {
            // the device tail goes on whole or not at all
            checked = Math.min(checked, tailStart >= 0 ? Math.min(tailStart, refusal.offset()) : refusal.offset());
        }
        while (forwarded < checked) {
            ByteBuf head = unforwarded.peek();
            long want = checked - forwarded;
            if (head.readableBytes() <= want) {
                unforwarded.poll();
                forwarded += head.readableBytes();
                forward.accept(head);
            } else {
                forwarded += want;
                forward.accept(head.readRetainedSlice((int) want));
            }
        }
    }

    private void publish() {
        progress = new StreamProgress(received, forwarded, machineType, ramBlocks, ramTotal, normalPages, zeroPages,
                xbzrlePages, ramSectionBytes, ramSections, ramPasses, deviceSections,
                tailStart < 0 ? 0 : received - tailStart, packageBytes, received - forwarded, endOfStream, layout != null);
    }

    /** Counts what the decoder reads; finds the device tail's start. */
    private final class Counting implements StreamListener {

        @Override
        public void configuration(String machine) {
            machineType = machine;
        }

        @Override
        public void sectionHeader(byte type, int sectionId, String idstr) {
            if (idstr.equals(StreamFormat.RAM_SECTION)) {
                ramSections++;
                // called once the header is consumed: START | type | be32 id | u8 3 "ram" | be32 | be32 |, PART/END | type | be32 id |
                int header = type == StreamFormat.SECTION_START ? 1 + 4 + 1 + 3 + 4 + 4 : 1 + 4;
                ramSectionStart = decoder.position() - header;
            }
        }

        @Override
        public void endOfRamSection(byte sectionType) {
            // called once the footer is consumed
            ramSectionBytes += decoder.position() - ramSectionStart;
        }

        @Override
        public void ramBlocks(List<RamBlockInfo> blocks) {
            ramBlocks = blocks.size();
            ramTotal = blocks.stream().mapToLong(RamBlockInfo::usedLength).sum();
        }

        @Override
        public void page(int blockIndex, long pageIndex, ByteBuf data) {
            normalPages++;
            position(blockIndex, pageIndex);
        }

        @Override
        public void zeroPage(int blockIndex, long pageIndex, int fill) {
            zeroPages++;
            position(blockIndex, pageIndex);
        }

        @Override
        public void xbzrlePage(int blockIndex, long pageIndex, ByteBuf encoding) {
            xbzrlePages++;
            position(blockIndex, pageIndex);
        }

        private void position(int block, long page) {
            if (lastBlock < 0 || block < lastBlock || block == lastBlock && page < lastPage) {
                ramPasses++;
            }
            lastBlock = block;
            lastPage = page;
        }

        @Override
        public DeviceSectionFormat deviceSectionFormat(String idstr, int instanceId, int versionId) {
            if (tailStart < 0) {
                tailStart = decoder.position();
            }
            // asked again once the vmdesc is there; before, the decoder waits at the payload, not fed
            return (in, version) -> {
                if (layout == null) {
                    return DeviceSectionFormat.NEED_MORE;
                }
                DeviceSectionFormat format = layout.format(idstr, instanceId);
                if (format == null) {
                    throw new StreamFormatException("Device section '" + idstr + "' instance "
                            + Integer.toUnsignedString(instanceId) + " is not in the stream's vmdesc");
                }
                return format.measure(in, version);
            };
        }

        @Override
        public void deviceState(String idstr, int instanceId, int versionId, ByteBuf payload) {
            deviceSections++;
        }

        @Override
        public void endOfStream() {
            endOfStream = true;
        }

        @Override
        public void postcopyAdvise() {
            // checked by the decoder (page sizes); the destination QEMU checks userfaultfd
        }

        @Override
        public void postcopyDiscard(int blockIndex, long firstPage, long pages) {
            // ranges checked against the block by the decoder; the destination QEMU discards them
        }

        @Override
        public boolean packaged(long length) {
            packageBytes += length;
            return true;   // counted, passed on: its device state has no vmdesc to be checked against
        }
    }
}
