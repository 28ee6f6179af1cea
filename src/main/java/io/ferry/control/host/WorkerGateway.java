package io.ferry.control.host;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.channel.StartIncomingCommand;
import io.ferry.channel.StartOutgoingCommand;
import io.ferry.channel.TuneMigrationCommand;
import java.util.UUID;

/**
 * Commands the control plane sends to a host's worker. Implemented by the dispatch package,
 * the one place that talks to workers. Failures surface as {@link WorkerUnavailableException}
 * (cannot reach it) or {@link WorkerRejectedException} (it answered no, with its reason).
 */
public interface WorkerGateway {

    GuestReport createGuest(Host host, CreateGuestCommand command);

    void destroyGuest(Host host, UUID guestId, boolean deleteImages);

    GuestReport pauseGuest(Host host, UUID guestId);

    GuestReport resumeGuest(Host host, UUID guestId);

    GuestChecksumsReport checksums(Host host, UUID guestId);

    /** Destination: prepare an incoming guest and expect the job's stream. */
    void startIncoming(Host host, StartIncomingCommand command);

    /** Source: start sending; returns at once, the worker reports progress. */
    void startOutgoing(Host host, StartOutgoingCommand command);

    /** What the worker process knows of the job now (a takeover or a restart settles the job from it). */
    io.ferry.channel.MigrationStateReport migrationState(Host host, UUID jobId);

    /** False when the worker refused because the switchover already began. */
    boolean cancelMigration(Host host, UUID jobId);

    void tuneMigration(Host host, UUID jobId, TuneMigrationCommand command);

    /** Source: switch to post-copy at the next safe point; rejected (409) when it cannot. */
    void startPostcopy(Host host, UUID jobId);

    /** Source: reconnect a paused post-copy to its destination now; rejected (409) when not paused. */
    void recoverMigration(Host host, UUID jobId);

    /**
     * Measures the guest's dirty-page rate on its worker over the command's window (100..60000 ms)
     * in its mode, without migrating it or touching the migration's dirty log; blocks for the window.
     */
    io.ferry.channel.DirtyRateReport measureDirtyRate(Host host, UUID guestId, io.ferry.channel.DirtyRateCommand command);

    /**
     * Source: hold the guest's workload still so the pre-copy converges (Nova's force-complete);
     * rejected (409) once the switchover or post-copy has begun.
     */
    void forceCompleteMigration(Host host, UUID jobId);

    /**
     * The kept side of a {@code postcopy-paused} job whose other worker is gone: end the migration
     * there and run the guest as an ordinary one, its disks at the generations {@code command}
     * gives (already moved there by compare-and-set, the job already failed). Rejected (409) when
     * the job is not a paused post-copy on that worker, 404 when it does not know it; a repeat
     * after success gets the same report.
     */
    io.ferry.channel.AbandonReport abandonMigration(Host host, UUID jobId, io.ferry.channel.AbandonCommand command);

    /**
     * Pauses the guest (it stays paused) and writes it to a new file under the worker's
     * datastore; 422 when the format cannot hold it, 409 while a migration holds it.
     */
    default io.ferry.channel.SavedGuestReport saveGuest(Host host, UUID guestId,
                                                        io.ferry.channel.SaveGuestCommand command) {
        throw new UnsupportedOperationException("this gateway does not save guests");
    }

    /** The guest a saved file holds, read from its head; 422 for a missing or malformed file, 400 for a path outside the datastore. */
    default io.ferry.channel.SavedLayoutReport savedLayout(Host host, io.ferry.channel.SavedLayoutQuery query) {
        throw new UnsupportedOperationException("this gateway does not read saved guests");
    }

    /** A new guest from a saved file, paused; all or nothing (422 for a missing or malformed file). */
    default GuestReport restoreGuest(Host host, io.ferry.channel.RestoreGuestCommand command) {
        throw new UnsupportedOperationException("this gateway does not restore guests");
    }
}
