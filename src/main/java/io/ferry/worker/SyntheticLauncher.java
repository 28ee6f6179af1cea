package io.ferry.worker;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.GuestRuntime;
import io.ferry.channel.RuntimeAvailability;
import io.ferry.guest.HostedGuest;
import io.ferry.guest.SyntheticGuest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Synthetic guests: always available, they need nothing but this process. */
final class SyntheticLauncher implements GuestLauncher {

    @Override
    public RuntimeAvailability availability() {
        return new RuntimeAvailability(GuestRuntime.SYNTHETIC, true, "built in");
    }

    /** A synthetic guest never ends on its own: {@code onFailure} is not needed. */
    @Override
    public HostedGuest launch(CreateGuestCommand command, Path datastore, Runnable onFailure) throws IOException {
        Map<String, Long> generations = new LinkedHashMap<>();
        command.disks().forEach(d -> generations.put(d.diskId().toString(), d.generation()));
        return SyntheticGuest.create(GuestSpecs.synthetic(command), datastore, generations);
    }
}
