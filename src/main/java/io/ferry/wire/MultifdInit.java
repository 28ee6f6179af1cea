package io.ferry.wire;

import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.UUID;

/**
 * The 64-byte packet that opens every multifd channel:
 *
 * <pre>
 *   | be32 magic 0x11223344 | be32 version 1 | 16 bytes uuid | u8 channel id | 7 + 32 bytes 0 |
 * </pre>
 *
 * <p>QEMU sends its {@code -uuid} there and the destination compares it with its own; Ferry sends
 * the job id, so a channel can only join the migration it was opened for.
 *
 * @param jobId     the migration job, written where QEMU writes the VM's uuid
 * @param channelId 0..channels−1, a u8 on the wire
 */
public record MultifdInit(UUID jobId, int channelId) {

    /** The channel id is one byte. */
    public static final int MAX_CHANNELS = 256;

    public MultifdInit {
        Objects.requireNonNull(jobId, "jobId");
        if (channelId < 0 || channelId >= MAX_CHANNELS) {
            throw new IllegalArgumentException("multifd channel id must be in 0.." + (MAX_CHANNELS - 1) + ", got "
                    + channelId);
        }
    }

    public void encode(ByteBuf out) {
        out.writeInt(MultifdFormat.MAGIC);
        out.writeInt(MultifdFormat.VERSION);
        out.writeLong(jobId.getMostSignificantBits());
        out.writeLong(jobId.getLeastSignificantBits());
        out.writeByte(channelId);
        out.writeZero(MultifdFormat.INIT_LENGTH - MultifdFormat.INIT_CHANNEL_AT - 1);
    }

    /**
     * Reads the init packet once all 64 bytes are readable. Reserved bytes are not checked, as
     * QEMU does not check them either.
     *
     * @param expectedJob the job this destination takes channels for
     * @param channels    the negotiated channel count, 1..{@link #MAX_CHANNELS}
     * @return the packet (consumed), or {@code null}, consuming nothing, while fewer than 64 bytes
     *         are readable
     * @throws MultifdFormatException for {@link MultifdError#BAD_MAGIC},
     *                                {@link MultifdError#UNSUPPORTED_VERSION},
     *                                {@link MultifdError#JOB_MISMATCH} or
     *                                {@link MultifdError#CHANNEL_OUT_OF_RANGE}
     */
    public static MultifdInit decode(ByteBuf in, UUID expectedJob, int channels) {
        Objects.requireNonNull(expectedJob, "expectedJob");
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw new IllegalArgumentException("channels must be in 1.." + MAX_CHANNELS + ", got " + channels);
        }
        if (in.readableBytes() < MultifdFormat.INIT_LENGTH) {
            return null;
        }
        int i = in.readerIndex();
        int magic = in.getInt(i);
        if (magic != MultifdFormat.MAGIC) {
            throw new MultifdFormatException(MultifdError.BAD_MAGIC,
                    String.format("init magic 0x%08x, expected 0x%08x", magic, MultifdFormat.MAGIC));
        }
        int version = in.getInt(i + Integer.BYTES);
        if (version != MultifdFormat.VERSION) {
            throw new MultifdFormatException(MultifdError.UNSUPPORTED_VERSION, "init version "
                    + Integer.toUnsignedString(version) + " (supported: " + MultifdFormat.VERSION + ")");
        }
        UUID job = new UUID(in.getLong(i + MultifdFormat.INIT_UUID_AT),
                in.getLong(i + MultifdFormat.INIT_UUID_AT + Long.BYTES));
        if (!job.equals(expectedJob)) {
            throw new MultifdFormatException(MultifdError.JOB_MISMATCH, "channel of job " + job + ", expected "
                    + expectedJob);
        }
        int channelId = in.getUnsignedByte(i + MultifdFormat.INIT_CHANNEL_AT);
        if (channelId >= channels) {
            throw new MultifdFormatException(MultifdError.CHANNEL_OUT_OF_RANGE, "channel id " + channelId + " of "
                    + channels + " channels");
        }
        in.skipBytes(MultifdFormat.INIT_LENGTH);
        return new MultifdInit(job, channelId);
    }
}
