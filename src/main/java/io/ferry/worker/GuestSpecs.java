package io.ferry.worker;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.guest.DiskSpec;
import io.ferry.guest.GuestSpec;
import io.ferry.guest.RamBlockSpec;
import io.ferry.guest.WorkloadSpec;

/** A create command as a synthetic guest's spec (new guests and the destinations of migrations alike). */
final class GuestSpecs {

    private GuestSpecs() {
    }

    static GuestSpec synthetic(CreateGuestCommand command) {
        return new GuestSpec(command.guestId().toString(),
                command.ramBlocks().stream().map(b -> new RamBlockSpec(b.name(), b.sizeBytes())).toList(),
                command.disks().stream().map(d -> new DiskSpec(d.diskId().toString(), d.name(), d.sizeBytes()))
                        .toList(),
                command.deviceStateBytes(),
                new WorkloadSpec(command.workload().dirtyPagesPerSecond(), command.workload().hotSetFraction(),
                        command.workload().diskWritesPerSecond(), command.workload().seed()));
    }
}
