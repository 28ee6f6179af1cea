package io.ferry.migration.qemu;

import io.ferry.migration.MigrationFailure;

/** A relay of a QEMU stream stopped: why, and at which stream offset when the stream's reading decided it. */
public final class RelayFailure extends MigrationFailure {

    private final long streamOffset;

    RelayFailure(String message, long streamOffset, Throwable cause) {
        super(message, cause);
        this.streamOffset = streamOffset;
    }

    /** The offset in QEMU's stream where the decoder refused it; -1 when the failure was not the stream's. */
    public long streamOffset() {
        return streamOffset;
    }
}
