/**
 * The migration stream as a library: QEMU's stream format version 3 ({@link io.ferry.wire.StreamFormat},
 * {@link io.ferry.wire.RamFlag}), its stateless encoders ({@link io.ferry.wire.StreamEncoder}) and
 * per-channel writer ({@link io.ferry.wire.RamRecordWriter}), the per-channel validating decoder
 * ({@link io.ferry.wire.StreamDecoder} reporting to a {@link io.ferry.wire.StreamListener}), the
 * return path ({@link io.ferry.wire.ReturnPathMessage}) and Ferry's own connection
 * {@link io.ferry.wire.Handshake}. QEMU's multifd channels have their own framing: an init packet
 * ({@link io.ferry.wire.MultifdInit}) then page packets written by {@link io.ferry.wire.MultifdEncoder}
 * and read, without buffering page data, by one {@link io.ferry.wire.MultifdDecoder} per channel.
 * QEMU's XBZRLE page delta has its codec ({@link io.ferry.wire.Xbzrle}) and record body
 * ({@link io.ferry.wire.XbzrleRecord}); the stream decoder reports XBZRLE records once checked.
 * A stream saved to a file ends with QEMU's JSON description of its sections
 * ({@link io.ferry.wire.VmDescription}), which the decoder skips.
 *
 * <p>JDK and Netty buffers only: nothing here knows sockets, channels or Spring. Decoders take
 * whatever bytes have arrived and keep partial elements for the next call; encoders write into a
 * caller's {@code ByteBuf}.
 */
package io.ferry.wire;
