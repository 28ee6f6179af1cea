package io.ferry.migration.loopback;

import io.ferry.channel.GuestReport;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.MigrationReport;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.ReportedGuestState;
import io.ferry.guest.GuestState;
import io.ferry.guest.SyntheticGuest;
import io.ferry.migration.FaultInjector;
import io.ferry.migration.MigratingGuest;
import io.ferry.migration.MigrationReporter;
import io.ferry.migration.PageChannels;
import io.ferry.migration.incoming.IncomingMigration;
import io.ferry.migration.outgoing.OutgoingMigration;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiConsumer;

/**
 * Each side of a migration wired as a worker wires it, but with no worker and no control plane:
 * the guest's state changes go nowhere, disks' ownership is a {@link LocalOwnership}, no faults
 * are injected. {@link LoopbackMigration} puts both sides in one process; the benchmark's
 * endpoints ({@code ferry bench}) put one side in each of two.
 */
public final class LocalSides {

    /** How long a side waits for the (local) ownership record's answer at the hand-off. */
    public static final Duration HANDOFF_TIMEOUT = Duration.ofSeconds(2);

    private LocalSides() {
    }

    /** Two I/O threads named {@code name-…}, so a benchmark can tell one side's CPU time from the other's. */
    public static EventLoopGroup eventLoops(String name) {
        return new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory(name), NioIoHandler.newFactory());
    }

    /** Every disk of {@code guest} ACTIVE on the source at generation 1, as a new guest's are. */
    public static LocalOwnership ownershipOf(SyntheticGuest guest) {
        return new LocalOwnership(guest.spec().disks().stream().map(d -> d.diskId()).toList());
    }

    /**
     * True for the report that ends a migration on its side (completed, failed, cancelled): not
     * progress, not an active or post-copy phase, and with RAM figures.
     */
    public static boolean isFinal(MigrationReport report) {
        MigrationPhase phase = report.phase();
        return !phase.equals(MigrationPhase.PROGRESS) && !phase.equals(MigrationPhase.ACTIVE)
                && !phase.equals(MigrationPhase.POSTCOPY_ACTIVE) && !phase.equals(MigrationPhase.POSTCOPY_PAUSED)
                && report.progress() != null && report.progress().ram() != null;
    }

    /**
     * The destination's side of job {@code jobId} into {@code destination} (an incoming guest),
     * as host {@link LocalOwnership#DESTINATION}, taking pages as {@code pages} says (on the stream
     * alone, or multifd channels); {@code done} is called once with (jobId, runs the
     * guest here?) when it ends either way.
     */
    public static IncomingMigration incoming(UUID jobId, byte[] secret, boolean verifyChecksums, boolean copyImages,
                                             Map<String, Long> baseGenerations, PageChannels pages,
                                             SyntheticGuest destination, MigrationReporter reporter,
                                             LocalOwnership ownership, BiConsumer<UUID, Boolean> done) {
        return new IncomingMigration(new IncomingMigration.Spec(jobId, LocalOwnership.DESTINATION, secret,
                verifyChecksums, copyImages, baseGenerations, HANDOFF_TIMEOUT, pages), migrating(destination),
                reporter, ownership, FaultInjector.none(), done);
    }

    /**
     * The source's side of job {@code jobId}, sending {@code source} to {@code destinationAddress}
     * (host:port) as host {@link LocalOwnership#SOURCE}; {@code finished} is called once with
     * (jobId, handed over?) at the end. Run it on a thread of its own, as a worker does.
     */
    public static OutgoingMigration outgoing(UUID jobId, String destinationAddress, byte[] secret,
                                             Map<String, Long> baseGenerations, MigrationSettings settings,
                                             boolean autoRecover, SyntheticGuest source, EventLoopGroup group,
                                             MigrationReporter reporter, LocalOwnership ownership,
                                             BiConsumer<UUID, Boolean> finished) {
        return new OutgoingMigration(new OutgoingMigration.Spec(jobId, LocalOwnership.SOURCE, destinationAddress,
                secret, baseGenerations, HANDOFF_TIMEOUT, settings, autoRecover), migrating(source), group, reporter,
                ownership, FaultInjector.none(), finished);
    }

    /** A guest as the engine drives it, with no worker to record its state changes. */
    public static MigratingGuest migrating(SyntheticGuest guest) {
        return new MigratingGuest() {
            @Override
            public SyntheticGuest guest() {
                return guest;
            }

            @Override
            public void changeState(GuestState next) {
                guest.setState(next);
            }

            @Override
            public GuestReport report() {
                return new GuestReport(UUID.fromString(guest.id()), ReportedGuestState.fromApiName(guest.state().apiName()),
                        guest.memory().totalBytes(), 0, "loopback");
            }
        };
    }
}
