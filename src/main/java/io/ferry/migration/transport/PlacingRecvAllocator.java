package io.ferry.migration.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Netty's read buffers for one data-plane connection. Ordinarily adaptive, 64 KiB to 1 MiB a read
 * (Netty's default stops at 64 KiB). Once the connection's sink places page data itself
 * ({@link #placeWith}), before each socket read it asks where the next bytes belong
 * ({@link IncomingRegistry.DirectPlacement}): page data is read into a view of guest memory, so
 * the kernel's copy is the only one, and anything else into a buffer no larger than what precedes
 * the next page data. Installed when the connection is made: Netty keeps the first handle a
 * channel asks its allocator for, so the allocator cannot be swapped later.
 */
final class PlacingRecvAllocator implements RecvByteBufAllocator {

    private static final int ORDINARY_MAX = 64 << 10;

    private final AdaptiveRecvByteBufAllocator ordinary = new AdaptiveRecvByteBufAllocator(64 << 10, 256 << 10, 1 << 20);
    private volatile IncomingRegistry.DirectPlacement placement;
    private volatile java.util.function.BooleanSupplier mayPlace;
    /** The guest-memory view the last read went into; null when it went into an ordinary buffer. */
    private ByteBuf lastTarget;

    /** From now on, page data goes where {@code placement} says, whenever {@code mayPlace} holds. */
    void placeWith(IncomingRegistry.DirectPlacement placement, java.util.function.BooleanSupplier mayPlace) {
        this.mayPlace = mayPlace;
        this.placement = placement;
    }

    /** True when {@code buffer} is the guest-memory view a read just filled. */
    boolean isTarget(Object buffer) {
        return buffer != null && buffer == lastTarget;
    }

    @Override
    public Handle newHandle() {
        ExtendedHandle adaptive = (ExtendedHandle) ordinary.newHandle();
        return new ExtendedHandle() {
            @Override
            public ByteBuf allocate(ByteBufAllocator alloc) {
                IncomingRegistry.DirectPlacement target = placement;
                lastTarget = null;
                if (target == null) {
                    return adaptive.allocate(alloc);
                }
                boolean may = mayPlace.getAsBoolean();
                lastTarget = may ? target.target() : null;
                if (lastTarget != null) {
                    return lastTarget;
                }
                int wanted = may ? target.ordinaryBytes() : ORDINARY_MAX;
                return alloc.ioBuffer(Math.max(1, Math.min(ORDINARY_MAX, wanted)));
            }

            @Override
            public int guess() {
                return adaptive.guess();
            }

            @Override
            public void reset(ChannelConfig config) {
                adaptive.reset(config);
            }

            @Override
            public void incMessagesRead(int numMessages) {
                adaptive.incMessagesRead(numMessages);
            }

            @Override
            public void lastBytesRead(int bytes) {
                adaptive.lastBytesRead(bytes);
            }

            @Override
            public int lastBytesRead() {
                return adaptive.lastBytesRead();
            }

            @Override
            public void attemptedBytesRead(int bytes) {
                adaptive.attemptedBytesRead(bytes);
            }

            @Override
            public int attemptedBytesRead() {
                return adaptive.attemptedBytesRead();
            }

            @Override
            public boolean continueReading() {
                return adaptive.continueReading();
            }

            @Override
            public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
                return adaptive.continueReading(maybeMoreDataSupplier);
            }

            @Override
            public void readComplete() {
                adaptive.readComplete();
            }
        };
    }
}
