package io.ferry.guest;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * A guest as a host runs it, whatever runs it: the synthetic runtime ({@link SyntheticGuest},
 * memory and workload inside the worker) or a real virtual machine ({@code io.ferry.guest.qemu}).
 * The worker holds one per guest and drives every runtime through this; what only one runtime
 * can do (the migration engine drives synthetic guests) the worker asks of that runtime's type.
 *
 * <p>{@link #close()} stops the guest and lets go of everything it holds but its image files,
 * which may live on shared storage and belong to another host by then; {@link #deleteImages()}
 * is for deleting the guest.
 */
public interface HostedGuest extends AutoCloseable {

    String id();

    /** The runtime's name as the API spells it: {@code synthetic}, {@code qemu}. */
    String runtime();

    /** The state last seen; for a guest that {@link #failure() failed}, the state it had before. */
    GuestState state();

    long memoryBytes();

    /**
     * PAUSED when this returns. No-op if already paused.
     *
     * @throws IllegalStateException if the guest cannot be paused now (failed, closed, or a move the table forbids)
     */
    void pause();

    /** RUNNING when this returns. No-op if already running. Same refusals as {@link #pause()}. */
    void resume();

    /** Checksums of memory and disks, taken with the guest held still (paused for the moment if it ran). */
    GuestChecksums checksums();

    /**
     * Why the guest ended on its own (a QEMU process that died, with its exit code and last
     * words), empty while it lives or was closed on purpose. A failed guest is gone: only
     * closing and deleting it remain.
     */
    default Optional<String> failure() {
        return Optional.empty();
    }

    /** Each disk id's active ownership generation, for disks the guest has open and active now. */
    Map<String, Long> activeDiskGenerations();

    /** Stops the guest and frees what it holds, keeping the image files. Idempotent. */
    @Override
    void close();

    /** Closes the guest if needed, then deletes its image files (and any other files it made) from the datastore. */
    void deleteImages() throws IOException;
}
