package io.ferry.worker;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.RuntimeAvailability;
import io.ferry.guest.HostedGuest;
import java.io.IOException;
import java.nio.file.Path;

/** Starts the guests of one runtime on this worker; one implementation per runtime. */
interface GuestLauncher {

    /** Whether this host can run the runtime, as found when the worker started. */
    RuntimeAvailability availability();

    /**
     * A new guest as the command describes, running, its disks' images in {@code datastore};
     * {@code onFailure} runs if the guest later ends on its own.
     *
     * @throws RuntimeRefusedException if the runtime cannot start this guest here (QEMU would not start)
     */
    HostedGuest launch(CreateGuestCommand command, Path datastore, Runnable onFailure) throws IOException;
}
