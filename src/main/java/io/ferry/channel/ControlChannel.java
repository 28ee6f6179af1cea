package io.ferry.channel;

/** Paths of the control channel, both directions. */
public final class ControlChannel {

    private ControlChannel() {
    }

    /** A host id: a lower-case DNS label, as Kubernetes node names are. */
    public static final String HOST_ID_PATTERN = "[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?";

    // worker → control plane
    public static final String REGISTER = "/internal/v1/workers/{hostId}";
    public static final String HEARTBEAT = "/internal/v1/workers/{hostId}/heartbeat";
    public static final String MIGRATION_REPORT = "/internal/v1/migrations/{jobId}/reports";
    /** POST an {@link OwnershipStep}; GET the records of the job's disks. */
    public static final String MIGRATION_OWNERSHIP = "/internal/v1/migrations/{jobId}/ownership";

    // control plane → worker
    public static final String STATUS = "/v1/status";
    public static final String GUESTS = "/v1/guests";
    /** GET {jobId}: what the worker knows of it; POST incoming | outgoing; POST {jobId}/cancel | tune | postcopy | recover | force-complete | abandon. */
    public static final String MIGRATIONS = "/v1/migrations";
    /** POST layout (a {@link SavedLayoutQuery}) | restore (a {@link RestoreGuestCommand}); a save is POST {@code GUESTS/{id}/save}. */
    public static final String SAVES = "/v1/saves";

    /**
     * On a job command: the lease epoch of the control-plane replica that drives the job. A
     * worker refuses a command older than one it has seen for the job (a replica whose lease
     * was taken over); commands without it pass.
     */
    public static final String DRIVER_EPOCH_HEADER = "Ferry-Driver-Epoch";

    public static String register(String hostId) {
        return REGISTER.replace("{hostId}", hostId);
    }

    public static String migrationReport(java.util.UUID jobId) {
        return MIGRATION_REPORT.replace("{jobId}", jobId.toString());
    }

    public static String migrationOwnership(java.util.UUID jobId) {
        return MIGRATION_OWNERSHIP.replace("{jobId}", jobId.toString());
    }

    public static String heartbeat(String hostId) {
        return HEARTBEAT.replace("{hostId}", hostId);
    }
}
