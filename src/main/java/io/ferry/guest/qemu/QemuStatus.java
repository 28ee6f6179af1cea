package io.ferry.guest.qemu;

import io.ferry.guest.GuestState;
import tools.jackson.databind.JsonNode;

/**
 * QMP's {@code query-status} answer as one of Ferry's guest states. QEMU has a dozen run states
 * (paused, prelaunch, postmigrate, io-error, guest-panicked, …); for Ferry a guest either runs
 * its vCPUs, waits for an incoming migration, or is held still.
 *
 * <pre>
 *   status "inmigrate"          → INCOMING  (started with -incoming, nothing loaded yet)
 *   "running": true             → RUNNING   (running, and QEMU's own debug/colo states that run)
 *   anything else               → PAUSED    (paused, prelaunch, postmigrate, finish-migrate,
 *                                            io-error, guest-panicked, shutdown, …)
 * </pre>
 */
final class QemuStatus {

    private QemuStatus() {
    }

    static GuestState guestState(JsonNode queryStatus) {
        String status = queryStatus.path("status").asString("");
        if (status.equals("inmigrate")) {
            return GuestState.INCOMING;
        }
        return queryStatus.path("running").asBoolean(false) ? GuestState.RUNNING : GuestState.PAUSED;
    }
}
