package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * The FULL sections that carry device state, for {@link StreamDecoder}: which ones are known
 * (Ferry's own length-prefixed section, or one whose {@link DeviceSectionFormat} the listener
 * gives), and their payload up to and with the footer, checked against the size limit before it
 * is buffered.
 */
final class DeviceSectionDecoder {

    private final DecoderContext context;

    // FULL section being read.
    private int instance;
    private int version;
    private DeviceSectionFormat format; // null: Ferry's own length-prefixed section

    DeviceSectionDecoder(DecoderContext context) {
        this.context = context;
    }

    /** Checks that a FULL section {@code idstr} is known in this instance and version, and starts reading it. */
    void begin(String idstr, int instance, int version) {
        DeviceSectionFormat known = null;
        if (idstr.equals(StreamFormat.DEVICE_STATE_SECTION)) {
            if (instance != 0) {
                throw context.fail("Unknown savevm section or instance '" + idstr + "' "
                        + Integer.toUnsignedString(instance));
            }
            if (version < 1 || version > StreamFormat.DEVICE_STATE_SECTION_VERSION) {
                throw context.fail("savevm: unsupported version " + version + " for '" + idstr + "' v"
                        + StreamFormat.DEVICE_STATE_SECTION_VERSION);
            }
        } else {
            known = context.listener.deviceSectionFormat(idstr, instance, version);
            if (known == null) {
                throw context.fail("Unknown savevm section '" + idstr + "' instance "
                        + Integer.toUnsignedString(instance));
            }
        }
        this.instance = instance;
        this.version = version;
        this.format = known;
    }

    /** A new connection: the section under way is dropped. */
    void continueOnNewStream() {
        format = null;
    }

    /**
     * The payload of section {@code idstr} (id {@code sectionId}) and its footer, reported once
     * both are there; false if not yet.
     */
    boolean payload(ByteBuf in, int sectionId, String idstr) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        int max = context.limits.maxDeviceStateBytes();
        int payloadLength;
        int dataOffset;
        if (format == null) {
            if (r < Integer.BYTES) {
                return false;
            }
            long stateLength = in.getUnsignedInt(i);
            if (stateLength > max) {
                throw context.fail("Device state of section '" + idstr + "' is " + stateLength + " bytes, limit "
                        + max);
            }
            dataOffset = Integer.BYTES;
            payloadLength = Integer.BYTES + (int) stateLength;
        } else {
            int window = Math.min(r, max + 1);
            int measured = format.measure(in.slice(i, window).asReadOnly(), version);
            if (measured == DeviceSectionFormat.NEED_MORE) {
                if (window > max) {
                    throw context.fail("Device state of section '" + idstr + "' exceeds the limit of " + max
                            + " bytes");
                }
                return false;
            }
            if (measured < 0) {
                throw context.fail("Device section format of '" + idstr + "' measured an invalid length " + measured);
            }
            if (measured > max) {
                throw context.fail("Device state of section '" + idstr + "' is " + measured + " bytes, limit " + max);
            }
            dataOffset = 0;
            payloadLength = measured;
        }
        if (r < payloadLength + 1) {
            return false;
        }
        if (!context.footerOk(in, i + payloadLength, sectionId, idstr)) {
            return false;
        }
        ByteBuf payload = in.slice(i + dataOffset, payloadLength - dataOffset);
        context.listener.deviceState(idstr, instance, version, payload);
        context.consume(in, payloadLength + DecoderContext.FOOTER_SIZE);
        return true;
    }
}
