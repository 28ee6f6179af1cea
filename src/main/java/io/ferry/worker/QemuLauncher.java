package io.ferry.worker;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.GuestRuntime;
import io.ferry.channel.RuntimeAvailability;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.HostedGuest;
import io.ferry.guest.qemu.QemuGuest;
import io.ferry.guest.qemu.QemuGuestSpec;
import io.ferry.guest.qemu.QemuSupport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * QEMU guests, when the worker found a runnable QEMU and qemu-img. The command's RAM blocks add
 * up to the machine's memory; the workload and device-state size are synthetic guests' and do
 * not apply.
 */
final class QemuLauncher implements GuestLauncher {

    private final QemuSupport qemu;
    /** Written into each QEMU's name, so a later worker of this host and datastore finds what this one left. */
    private final String owner;

    QemuLauncher(QemuSupport qemu, String owner) {
        this.qemu = qemu;
        this.owner = owner;
    }

    @Override
    public RuntimeAvailability availability() {
        return new RuntimeAvailability(GuestRuntime.QEMU, qemu.available(), qemu.detail());
    }

    @Override
    public HostedGuest launch(CreateGuestCommand command, Path datastore, Runnable onFailure) throws IOException {
        Map<String, Long> generations = new LinkedHashMap<>();
        command.disks().forEach(d -> generations.put(d.diskId().toString(), d.generation()));
        QemuGuestSpec spec = new QemuGuestSpec(command.guestId().toString(),
                command.ramBlocks().stream().mapToLong(b -> b.sizeBytes()).sum(),
                command.disks().stream().map(d -> new DiskSpec(d.diskId().toString(), d.name(), d.sizeBytes()))
                        .toList(),
                QemuGuestSpec.ImageFormat.QCOW2);
        try {
            return QemuGuest.start(qemu, spec, datastore, owner, generations, onFailure);
        } catch (IOException e) {
            // QEMU would not start or answer (its exit code and last words are in the message): the guest
            // cannot be carried out here, which is not the worker's failing
            throw new RuntimeRefusedException("QEMU could not start guest " + command.guestId() + ": "
                    + e.getMessage());
        }
    }
}
