package io.ferry.worker;

import io.ferry.channel.GuestRuntime;
import io.ferry.channel.RuntimeAvailability;
import io.ferry.guest.qemu.QemuSupport;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The runtimes this worker offers, one launcher each, and which of them it can run. */
final class GuestRuntimes {

    private final String hostId;
    private final Map<GuestRuntime, GuestLauncher> launchers;

    private GuestRuntimes(String hostId, Map<GuestRuntime, GuestLauncher> launchers) {
        this.hostId = hostId;
        this.launchers = new EnumMap<>(launchers);
    }

    /** Synthetic guests, and QEMU guests as {@code qemu} found (probe it with {@link QemuSupport#probe}). */
    static GuestRuntimes of(String hostId, QemuSupport qemu) {
        return of(hostId, hostId, qemu);
    }

    /**
     * As above; {@code owner} names this worker in its QEMUs' names (the host and its datastore:
     * see {@link io.ferry.guest.qemu.QemuGuest#stopOrphans}).
     */
    static GuestRuntimes of(String hostId, String owner, QemuSupport qemu) {
        return new GuestRuntimes(hostId, Map.of(GuestRuntime.SYNTHETIC, new SyntheticLauncher(),
                GuestRuntime.QEMU, new QemuLauncher(qemu, owner)));
    }

    /** Synthetic guests only (tests of the synthetic path, which need no QEMU probe). */
    static GuestRuntimes syntheticOnly(String hostId) {
        return of(hostId, new QemuSupport(null, null, "QEMU is not offered by this worker"));
    }

    /**
     * The launcher of {@code runtime}.
     *
     * @throws RuntimeRefusedException naming this host and why, if it cannot run that runtime
     */
    GuestLauncher launcher(GuestRuntime runtime) {
        GuestLauncher launcher = launchers.get(runtime);
        if (launcher == null) {
            throw new RuntimeRefusedException("host '" + hostId + "' has no " + runtime.apiName() + " runtime");
        }
        RuntimeAvailability availability = launcher.availability();
        if (!availability.available()) {
            throw new RuntimeRefusedException("host '" + hostId + "' cannot run " + runtime.apiName() + " guests: "
                    + availability.detail());
        }
        return launcher;
    }

    /** Every runtime, in the enum's order, with whether it can run here. */
    List<RuntimeAvailability> availability() {
        return launchers.values().stream().map(GuestLauncher::availability).toList();
    }
}
