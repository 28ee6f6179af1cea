package io.ferry.migration.incoming;

import io.ferry.guest.DiskImage;
import io.ferry.guest.RamBlock;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.OwnershipArbiter;
import io.ferry.migration.PhaseMachine;
import io.ferry.migration.transport.IncomingRegistry;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the parts of one incoming migration share: the job, the incoming guest and its images,
 * where this side stands, how it ends, and whom it answers to.
 *
 * @param lock {@link IncomingMigration}'s monitor, the stream's lock: a part that moves the phase
 *             off the stream's thread takes it, as the stream does
 * @param main the stream's connection now (a recovery replaces it); null before one attached
 * @param fail drops the incoming guest from a phase no other thread moves meanwhile
 */
record IncomingJob(IncomingMigration.Spec spec, MigratingGuest incoming, Map<String, DiskImage> images,
                   PhaseMachine<IncomingPhase> phases, Outcome outcome, MigrationReporter reporter,
                   OwnershipArbiter arbiter, FaultInjector faults, Object lock,
                   Supplier<IncomingRegistry.ConnectionControl> main, Consumer<String> fail) {

    UUID jobId() {
        return spec.jobId();
    }

    SyntheticGuest guest() {
        return incoming.guest();
    }

    List<RamBlock> blocks() {
        return guest().memory().blocks();
    }
}
