package io.ferry.wire;

import static io.ferry.wire.StreamFormat.PAGE_SIZE;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The top-level commands of a migration stream ({@code MIG_CMD}), for {@link StreamDecoder}:
 * OPEN_RETURN_PATH, PING and post-copy's, whose RAM block names it looks up in the
 * {@link RamRecordDecoder}'s block list; other commands are refused by name.
 */
final class CommandDecoder {

    private static final int PAGE_SHIFT = StreamFormat.PAGE_BITS;
    private static final int PAGE_FLAGS_MASK = PAGE_SIZE - 1;

    private final DecoderContext context;
    private final RamRecordDecoder ram;

    /** Bytes of an accepted PACKAGED command still to pass over; StreamDecoder reads it after a command. */
    long packageRemaining;

    CommandDecoder(DecoderContext context, RamRecordDecoder ram) {
        this.context = context;
        this.ram = ram;
    }

    /** {@code | 0x08 | be16 command | be16 length | data |}; false if not all there yet. */
    boolean command(ByteBuf in) {
        int i = in.readerIndex();
        int r = in.readableBytes();
        if (r < 5) {
            return false;
        }
        int command = in.getUnsignedShort(i + 1);
        int length = in.getUnsignedShort(i + 3);
        StreamListener listener = context.listener;
        switch (command) {
            case StreamFormat.CMD_OPEN_RETURN_PATH -> {
                if (length != 0) {
                    throw context.fail("MIG_CMD OPEN_RETURN_PATH has bad length " + length + " (expected 0)");
                }
                context.consume(in, 5);
                listener.openReturnPath();
            }
            case StreamFormat.CMD_PING -> {
                if (length != Integer.BYTES) {
                    throw context.fail("MIG_CMD PING has bad length " + length + " (expected 4)");
                }
                if (r < 9) {
                    return false;
                }
                int value = in.getInt(i + 5);
                context.consume(in, 9);
                listener.ping(value);
            }
            case StreamFormat.CMD_POSTCOPY_ADVISE -> {
                if (length != 2 * Long.BYTES) {
                    throw context.fail("MIG_CMD POSTCOPY_ADVISE has bad length " + length + " (expected 16)");
                }
                if (r < 5 + length) {
                    return false;
                }
                long pageSizes = in.getLong(i + 5);
                long targetPage = in.getLong(i + 13);
                if (pageSizes != PAGE_SIZE || targetPage != PAGE_SIZE) {
                    throw context.fail("Postcopy needs matching RAM page sizes (source " + pageSizes + "/" + targetPage
                            + ", destination " + PAGE_SIZE + ")");
                }
                context.consume(in, 5 + length);
                listener.postcopyAdvise();
            }
            case StreamFormat.CMD_POSTCOPY_LISTEN, StreamFormat.CMD_POSTCOPY_RUN -> {
                if (length != 0) {
                    throw context.fail("MIG_CMD "
                            + (command == StreamFormat.CMD_POSTCOPY_RUN ? "POSTCOPY_RUN" : "POSTCOPY_LISTEN")
                            + " has bad length " + length + " (expected 0)");
                }
                context.consume(in, 5);
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
                context.consume(in, 5 + length);
            }
            case StreamFormat.CMD_RECV_BITMAP -> {
                return recvBitmap(in, i, r, length);
            }
            case StreamFormat.CMD_PACKAGED -> {
                if (length != Integer.BYTES) {
                    throw context.fail("MIG_CMD PACKAGED has bad length " + length + " (expected 4)");
                }
                if (r < 9) {
                    return false;
                }
                long size = in.getUnsignedInt(i + 5);
                if (!listener.packaged(size)) {
                    throw context.fail(commandRefusal(command));
                }
                context.consume(in, 9);
                packageRemaining = size;
            }
            case StreamFormat.CMD_POSTCOPY_RESUME -> {
                if (length != 0) {
                    throw context.fail("MIG_CMD POSTCOPY_RESUME has bad length " + length + " (expected 0)");
                }
                context.consume(in, 5);
                listener.postcopyResume();
            }
            default -> throw context.fail(commandRefusal(command));
        }
        return true;
    }

    /** Validates a whole RAM_DISCARD command before reporting any of its ranges. */
    private void discard(ByteBuf in, int at, int length) {
        if (length < 3 + 1 + 16) {
            throw context.fail("MIG_CMD POSTCOPY_RAM_DISCARD has bad length " + length);
        }
        if (in.getUnsignedByte(at) != 0) {
            throw context.fail("POSTCOPY_RAM_DISCARD version " + in.getUnsignedByte(at) + " (expected 0)");
        }
        int nameLength = context.checkCountedStringLength(in.getUnsignedByte(at + 1), "discard block name");
        int ranges = length - 3 - nameLength;
        if (ranges <= 0 || ranges % 16 != 0 || ranges / 16 > StreamFormat.MAX_DISCARDS_PER_COMMAND) {
            throw context.fail("MIG_CMD POSTCOPY_RAM_DISCARD has bad length " + length);
        }
        if (in.getUnsignedByte(at + 2 + nameLength) != 0) {
            throw context.fail("POSTCOPY_RAM_DISCARD block name is not terminated");
        }
        int block = knownBlock(in, at + 2, nameLength, "POSTCOPY_RAM_DISCARD");
        long blockLength = ram.blockLength(block);
        int first = at + 3 + nameLength;
        for (int r = first; r < at + length; r += 16) {
            long start = in.getLong(r);
            long bytes = in.getLong(r + 8);
            if (start < 0 || bytes <= 0 || (start & PAGE_FLAGS_MASK) != 0 || (bytes & PAGE_FLAGS_MASK) != 0
                    || start > blockLength - bytes) {
                throw context.fail("POSTCOPY_RAM_DISCARD range " + start + "+" + bytes
                        + " is not whole pages within block '" + ram.blockIdstr(block) + "' of " + blockLength
                        + " bytes");
            }
        }
        for (int r = first; r < at + length; r += 16) {
            context.listener.postcopyDiscard(block, in.getLong(r) >>> PAGE_SHIFT, in.getLong(r + 8) >>> PAGE_SHIFT);
        }
    }

    /**
     * RECV_BITMAP: {@code | u8 n | n bytes block idstr |}, the command length being 1 + n (checked as
     * soon as the name's length byte is in, so a bogus length is never waited for).
     */
    private boolean recvBitmap(ByteBuf in, int i, int r, int length) {
        if (length < 2) {
            throw context.fail("MIG_CMD RECV_BITMAP has bad length " + length + " (expected 1 + block name length)");
        }
        if (r < 6) {
            return false;
        }
        int nameLength = in.getUnsignedByte(i + 5);
        if (nameLength != length - 1) {
            throw context.fail("MIG_CMD RECV_BITMAP has bad length " + length + " for a block name of " + nameLength
                    + " bytes (expected " + (1 + nameLength) + ")");
        }
        context.checkCountedStringLength(nameLength, "RECV_BITMAP block name");
        if (r < 5 + length) {
            return false;
        }
        int block = knownBlock(in, i + 6, nameLength, "MIG_CMD RECV_BITMAP");
        context.consume(in, 5 + length);
        context.listener.recvBitmap(block);
        return true;
    }

    /**
     * The RAM block named by the {@code length} bytes at {@code index}; {@code command} names the
     * command in the error if there is no block list yet or no such block.
     */
    private int knownBlock(ByteBuf in, int index, int length, String command) {
        if (!ram.hasBlockList()) {
            throw context.fail(command + " before the RAM block list");
        }
        int block = ram.findBlock(in, index, length);
        if (block < 0) {
            throw context.fail(command + " for unknown RAM block '"
                    + in.toString(index, length, StandardCharsets.UTF_8) + "'");
        }
        return block;
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
}
