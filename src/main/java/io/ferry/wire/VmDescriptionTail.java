package io.ferry.wire;

import io.netty.buffer.ByteBuf;

/**
 * What may follow QEMU_VM_EOF: {@code | 0x06 | be32 json_len | json |}, the vmdesc, its length
 * held to the limit and its JSON passed over (the stream's reader does not keep it). Fed by
 * {@link StreamDecoder} in its AFTER_EOF and VM_DESCRIPTION states.
 */
final class VmDescriptionTail {

    private final DecoderContext context;
    /** Bytes of the JSON still to pass over. */
    private long remaining;

    VmDescriptionTail(DecoderContext context) {
        this.context = context;
    }

    /** The type byte and length; true once read (then {@link #done} tells whether JSON follows). */
    boolean header(ByteBuf in) {
        int i = in.readerIndex();
        byte type = in.getByte(i);
        if (type != StreamFormat.VMDESCRIPTION) {
            throw context.fail(String.format("Unexpected data after EOF: byte 0x%02x", type));
        }
        if (in.readableBytes() < 5) {
            return false;
        }
        long length = in.getUnsignedInt(i + 1);
        if (length > context.limits.maxVmDescriptionBytes()) {
            throw context.fail("VM description is " + length + " bytes, limit "
                    + context.limits.maxVmDescriptionBytes());
        }
        context.consume(in, 5);
        remaining = length;
        return true;
    }

    /** Passes over what is readable of the JSON; true when anything was consumed. */
    boolean skip(ByteBuf in) {
        int n = (int) Math.min(in.readableBytes(), remaining);
        context.consume(in, n);
        remaining -= n;
        return n > 0;
    }

    /** The whole vmdesc has been passed over. */
    boolean done() {
        return remaining == 0;
    }
}
