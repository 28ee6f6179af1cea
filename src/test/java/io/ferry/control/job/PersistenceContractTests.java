package io.ferry.control.job;

import io.ferry.channel.CompressionMethod;
import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.HandoffStep;
import io.ferry.channel.StorageMode;
import io.ferry.channel.MigrationPhase;
import io.ferry.channel.DiskGeneration;

import io.ferry.channel.OwnershipStep;

import io.ferry.channel.MigrationProgress;

import io.ferry.channel.MigrationReport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ferry.channel.CreateGuestCommand;
import io.ferry.channel.GuestChecksumsReport;
import io.ferry.channel.GuestReport;
import io.ferry.control.ControlPlaneApplication;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.GuestState;
import io.ferry.control.guest.NewGuest;
import io.ferry.control.guest.RamBlock;
import io.ferry.control.guest.Workload;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.host.WorkerGateway;
import io.ferry.control.idempotency.IdempotencyKey;
import io.ferry.control.ownership.DiskOwnership;
import io.ferry.control.ownership.OwnershipConflictException;
import io.ferry.control.ownership.OwnershipService;
import io.ferry.channel.OwnershipState;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * One persistence contract, run against every database Ferry supports (subclasses pick one):
 * state changes are compare-and-sets, the timeline is appended, a guest takes one job at a
 * time, ownership hand-off steps refuse a stale generation, retried creates make one row.
 * Workers are replaced by an in-memory gateway: this contract is about the database.
 */
@SpringBootTest(classes = {ControlPlaneApplication.class, PersistenceContractTests.InMemoryWorkers.class},
        webEnvironment = SpringBootTest.WebEnvironment.NONE,
        properties = {"ferry.workers.launch=external", "ferry.api.token=t", "ferry.worker.token=w",
                "ferry.dispatcher.enabled=false",
                "ferry.worker.heartbeat-timeout=1h",
                // jobs other tests leave queued must not hold back the ones a test admits
                "ferry.admission.max-jobs=1000", "ferry.admission.max-outbound-per-host=1000",
                "ferry.admission.max-inbound-per-host=1000"})
abstract class PersistenceContractTests {

    @TestConfiguration
    static class InMemoryWorkers {
        @Bean
        @Primary
        WorkerGateway inMemoryWorkers() {
            return new WorkerGateway() {
                @Override
                public GuestReport createGuest(Host host, CreateGuestCommand c) {
                    return new GuestReport(c.guestId(), io.ferry.channel.ReportedGuestState.RUNNING,
                            c.ramBlocks().stream().mapToLong(b -> b.sizeBytes()).sum(), 1, "instance-" + host.id());
                }

                @Override
                public void destroyGuest(Host host, UUID guestId, boolean deleteImages) {
                }

                @Override
                public GuestReport pauseGuest(Host host, UUID guestId) {
                    return new GuestReport(guestId, io.ferry.channel.ReportedGuestState.PAUSED, 0, 2, "instance-" + host.id());
                }

                @Override
                public GuestReport resumeGuest(Host host, UUID guestId) {
                    return new GuestReport(guestId, io.ferry.channel.ReportedGuestState.RUNNING, 0, 3, "instance-" + host.id());
                }

                @Override
                public GuestChecksumsReport checksums(Host host, UUID guestId) {
                    throw new UnsupportedOperationException("no guest bytes in a persistence test");
                }

                @Override
                public void startIncoming(Host host, io.ferry.channel.StartIncomingCommand command) {
                    throw new UnsupportedOperationException("the dispatcher is off in a persistence test");
                }

                @Override
                public void startOutgoing(Host host, io.ferry.channel.StartOutgoingCommand command) {
                    throw new UnsupportedOperationException("the dispatcher is off in a persistence test");
                }

                @Override
                public boolean cancelMigration(Host host, UUID jobId) {
                    return true;
                }

                @Override
                public io.ferry.channel.MigrationStateReport migrationState(Host host, UUID jobId) {
                    throw new UnsupportedOperationException("the dispatcher is off in a persistence test");
                }

                @Override
                public void tuneMigration(Host host, UUID jobId, io.ferry.channel.TuneMigrationCommand command) {
                }

                @Override
                public void startPostcopy(Host host, UUID jobId) {
                }

                @Override
                public void recoverMigration(Host host, UUID jobId) {
                }

                @Override
                public io.ferry.channel.DirtyRateReport measureDirtyRate(Host host, UUID guestId,
                                                                         io.ferry.channel.DirtyRateCommand command) {
                    throw new UnsupportedOperationException("no guest bytes in a persistence test");
                }

                @Override
                public void forceCompleteMigration(Host host, UUID jobId) {
                }

                @Override
                public io.ferry.channel.AbandonReport abandonMigration(Host host, UUID jobId,
                                                                       io.ferry.channel.AbandonCommand command) {
                    return null;
                }
            };
        }
    }

    @Autowired
    MigrationCommands commands;
    @Autowired
    JobViews views;
    @Autowired
    JobStore store;
    @Autowired
    ReportHandler reports;
    @Autowired
    HandoffSteps handoff;
    @Autowired
    io.ferry.control.admission.AdmissionService admission;
    @Autowired
    io.ferry.control.policy.PolicyService policies;
    @Autowired
    MigrationJobRepository jobRepository;
    @Autowired
    GuestService guests;
    @Autowired
    HostService hosts;
    @Autowired
    OwnershipService ownership;
    @Autowired
    PlatformTransactionManager txManager;
    @Autowired
    io.ferry.control.lease.JobLeases leases;
    @Autowired
    io.ferry.control.lease.ReplicaIdentity replica;
    @Autowired
    javax.sql.DataSource dataSource;

    @BeforeEach
    void twoHosts() {
        for (String id : List.of("host-a", "host-b")) {
            hosts.register(id, "instance-" + id, "127.0.0.1:1", "127.0.0.1:2", "shared-store", 1L << 34, 2);
        }
    }

    /** Worker identity (V11): a credential per registration, found by its hash, replaced, revoked, refused. */
    @Test
    void aWorkerCredentialIsIssuedPerRegistrationFoundByAnyReplicaAndRevoked() {
        HostService.Registered first = hosts.register("host-credential", "instance-1", "127.0.0.1:1", "127.0.0.1:2", "",
                1L << 30, 1);
        try {
            assertThat(hosts.hostOfCredential(first.credential())).contains("host-credential");
            assertThat(hosts.hostOfCredential(first.credential() + "x")).isEmpty();
            assertThat(hosts.hostOfCredential("not-a-credential")).isEmpty();
            assertThat(hosts.hostOfCredential(null)).isEmpty();
            HostService.Registered second = hosts.register("host-credential", "instance-1", "127.0.0.1:1", "127.0.0.1:2", "",
                    1L << 30, 1);
            assertThat(second.newInstance()).isFalse();
            assertThat(second.credential()).isNotEqualTo(first.credential());
            assertThat(hosts.hostOfCredential(first.credential())).as("replaced").isEmpty();
            assertThat(hosts.hostOfCredential(second.credential())).contains("host-credential");
            assertThat(String.valueOf(second)).doesNotContain(second.credential());

            assertThat(hosts.revokeCredential("host-credential", false).hasCredential()).isFalse();
            assertThat(hosts.hostOfCredential(second.credential())).as("revoked").isEmpty();
            String third = hosts.register("host-credential", "instance-1", "127.0.0.1:1", "127.0.0.1:2", "", 1L << 30, 1)
                    .credential();
            assertThat(hosts.hostOfCredential(third)).contains("host-credential");

            assertThat(hosts.revokeCredential("host-credential", true).isRegistrationRefused()).isTrue();
            assertThat(hosts.hostOfCredential(third)).isEmpty();
            assertThatThrownBy(() -> hosts.register("host-credential", "instance-2",
                    "127.0.0.1:1", "127.0.0.1:2", "", 1L << 30, 1))
                    .isInstanceOf(io.ferry.control.host.RegistrationRefusedException.class);
            assertThatThrownBy(() -> hosts.revokeCredential("host-nowhere", false))
                    .isInstanceOf(io.ferry.control.host.HostNotFoundException.class);
        } finally {
            hosts.revokeCredential("host-credential", false);
        }
        assertThat(hosts.register("host-credential", "instance-2", "127.0.0.1:1", "127.0.0.1:2", "", 1L << 30, 1)
                .newInstance()).isTrue();
    }

    /**
     * Guest runtimes (V16): what a worker reported it can run, a qemu guest's runtime, and the
     * reason a failed guest gives, as stored; a runtime the host cannot run and a migration of a
     * qemu guest are refused before anything is written.
     */
    @Test
    void runtimesOfHostsAndGuestsAndAFailedGuestsReasonAreStored() {
        io.ferry.control.host.HostRuntime synthetic = new io.ferry.control.host.HostRuntime("synthetic", true, "built in");
        io.ferry.control.host.HostRuntime noQemu = new io.ferry.control.host.HostRuntime("qemu", false,
                "no qemu-system-x86_64 on PATH");
        hosts.register("host-a", "instance-host-a", "127.0.0.1:1", "127.0.0.1:2", "shared-store", 1L << 34, 2,
                List.of(synthetic, noQemu));
        assertThat(hosts.find("host-a").orElseThrow().runtimes()).containsExactly(synthetic, noQemu);
        NewGuest request = io.ferry.control.guest.GuestLayout.newQemuGuest("vm", "host-a", 64L << 20, false,
                List.of(new NewGuest.NewDisk("root", 1 << 20)), false, false, Map.of());
        int guestsBefore = guests.list().size();
        assertThatThrownBy(() -> guests.create(request, null, "test"))
                .isInstanceOf(io.ferry.control.guest.PlacementException.class)
                .hasMessage("host 'host-a' cannot run qemu guests: no qemu-system-x86_64 on PATH");
        assertThat(guests.list()).hasSize(guestsBefore);

        io.ferry.control.host.HostRuntime qemu = new io.ferry.control.host.HostRuntime("qemu", true, "QEMU 7.2, tcg");
        hosts.register("host-a", "instance-host-a", "127.0.0.1:1", "127.0.0.1:2", "shared-store", 1L << 34, 2,
                List.of(synthetic, qemu));
        Guest created = guests.create(request, null, "test");
        try {
            Guest stored = guests.get(created.id());
            assertThat(stored.runtime()).isEqualTo(io.ferry.channel.GuestRuntime.QEMU);
            assertThat(stored.ramBlocks()).singleElement()
                    .satisfies(b -> assertThat(b.name() + " " + b.sizeBytes()).isEqualTo("pc.ram " + (64L << 20)));
            assertThat(stored.failure()).isNull();
            assertThat(guestOnA().runtime()).isEqualTo(io.ferry.channel.GuestRuntime.SYNTHETIC);

            assertThatThrownBy(() -> jobFor(stored, null))
                    .isInstanceOf(io.ferry.control.guest.PlacementException.class)
                    .hasMessageContaining("migration of qemu guests is not supported yet");
            assertThat(store.latestOf(stored.id())).isEmpty();
            assertThat(guests.get(stored.id()).activeJobId()).isNull();

            guests.reconcile("host-a", "instance-host-a", List.of(new GuestReport(stored.id(),
                    io.ferry.channel.ReportedGuestState.FAILED, 64L << 20, 7, "instance-host-a",
                    "QEMU (pid 42) exited unexpectedly with code 137 (signal 9)")));
            Guest failed = guests.get(stored.id());
            assertThat(failed.state()).isEqualTo(GuestState.FAILED);
            assertThat(failed.failure()).isEqualTo("QEMU (pid 42) exited unexpectedly with code 137 (signal 9)");
            assertThatThrownBy(() -> guests.pause(stored.id()))
                    .isInstanceOf(io.ferry.control.guest.GuestBusyException.class).hasMessageContaining("has failed");
        } finally {
            guests.delete(created.id());
        }
    }

    @Test
    void theLatestJobOfAGuestIsFound() {
        Guest guest = guestOnA();
        assertThat(store.latestOf(guest.id())).isEmpty();
        MigrationJob job = jobFor(guest, null);
        assertThat(store.latestOf(guest.id())).map(MigrationJob::id).contains(job.id());
    }

    Guest guestOnA() {
        return guests.create(new NewGuest("g", "host-a", List.of(new RamBlock("pc.ram", 16L << 20)),
                List.of(new NewGuest.NewDisk("root", 1 << 20)), 4096, new Workload(0, 1.0, 0, 1)), null, "test");
    }

    MigrationJob jobFor(Guest guest, IdempotencyKey key) {
        return jobFor(guest, key, false);
    }

    MigrationJob jobFor(Guest guest, IdempotencyKey key, boolean postcopy) {
        return commands.create(new NewMigration(guest.id(), "host-b", new RequestedParameters(0L, 300L,
                StorageMode.SHARED, null, postcopy, null, null, null, null, null, null)), key, "test");
    }

    @Test
    void aJobAndItsTimelineAreStored() {
        MigrationJob job = jobFor(guestOnA(), null);
        commands.cancel(job.id(), "test");
        MigrationJob stored = jobRepository.findById(job.id()).orElseThrow();
        assertThat(stored.status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(stored.version()).isGreaterThan(job.version());
        assertThat(views.events(job.id())).extracting(JobEvent::to)
                .containsExactly(JobStatus.QUEUED, JobStatus.CANCELLED);
        assertThatThrownBy(() -> commands.cancel(job.id(), "test")).isInstanceOf(IllegalTransitionException.class);
        assertThat(views.events(job.id())).hasSize(2);
    }

    @Test
    void aStaleCopyOfAJobCannotOverwriteANewerOne() {
        MigrationJob job = jobFor(guestOnA(), null);
        TransactionTemplate tx = new TransactionTemplate(txManager);
        MigrationJob first = jobRepository.findById(job.id()).orElseThrow();
        MigrationJob stale = jobRepository.findById(job.id()).orElseThrow();
        tx.executeWithoutResult(s -> store.transition(first, JobStatus.SETUP, "engine picked it up", "test"));
        assertThatThrownBy(() -> tx.executeWithoutResult(s ->
                store.transition(stale, JobStatus.CANCELLED, "late cancel", "test")))
                .isInstanceOf(OptimisticLockingFailureException.class);
        assertThat(views.get(job.id()).status()).isEqualTo(JobStatus.SETUP);
        assertThat(views.events(job.id())).extracting(JobEvent::to).containsExactly(JobStatus.QUEUED, JobStatus.SETUP);
    }

    @Test
    void theFirstFailureIsKept() {
        MigrationJob job = jobFor(guestOnA(), null);
        job.recordFailure("destination closed the connection");
        job.recordFailure("later symptom");
        assertThat(job.failure()).isEqualTo("destination closed the connection");
    }

    @Test
    void aGuestIsClaimedByOneJobAtATime() {
        Guest guest = guestOnA();
        UUID one = UUID.randomUUID();
        UUID two = UUID.randomUUID();
        assertThat(guests.claimForJob(guest.id(), one)).isTrue();
        assertThat(guests.claimForJob(guest.id(), two)).isFalse();
        assertThat(guests.releaseFromJob(guest.id(), two, "host-a", GuestState.RUNNING)).isFalse();
        assertThat(guests.releaseFromJob(guest.id(), one, "host-a", GuestState.RUNNING)).isTrue();
        assertThat(guests.claimForJob(guest.id(), two)).isTrue();
    }

    @Test
    void concurrentRetriesWithOneIdempotencyKeyMakeOneJob() throws Exception {
        Guest guest = guestOnA();
        IdempotencyKey key = new IdempotencyKey("migrations", "k-" + UUID.randomUUID(), "same-body");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Callable<UUID> create = () -> jobFor(guest, key).id();
            List<Future<UUID>> results = pool.invokeAll(List.of(create, create, create, create));
            UUID first = results.get(0).get();
            for (Future<UUID> f : results) {
                assertThat(f.get()).isEqualTo(first);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(views.page(new JobFilter(null, guest.id(), null), 0, 20).totalItems()).isEqualTo(1);
    }

    /**
     * Keyset paging: walking a list with the cursor gives every matching job exactly once,
     * newest first, with ties on createdAt broken by id, under every filter; page numbers agree.
     */
    @Test
    void aCursorWalksEveryJobOnceInOrderUnderEveryFilter() {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String x = "x-" + run;
        String y = "y-" + run;
        String z = "z-" + run;
        UUID guest = UUID.randomUUID();
        // after every other job of the suite (they are created now), so the unfiltered list starts with these
        Instant base = Instant.parse("2100-01-01T00:00:00Z");
        java.util.Random random = new java.util.Random(11);
        List<MigrationJob> made = new java.util.ArrayList<>();
        for (int i = 0; i < 25; i++) {
            String[] route = i % 3 == 0 ? new String[] {x, y} : i % 3 == 1 ? new String[] {y, x} : new String[] {z, y};
            // ids with both halves positive: Java's UUID order is then the databases' (unsigned) order
            UUID id = new UUID(random.nextLong() & Long.MAX_VALUE, random.nextLong() & Long.MAX_VALUE);
            MigrationJob job = MigrationJob.queue(id, new JobPlan(i % 4 == 0 ? guest : UUID.randomUUID(), route[0],
                    route[1], new MigrationParameters(0, 300, StorageMode.SHARED, false,
                    io.ferry.channel.ConvergenceSettings.NONE, 1, false, 0, false, 0), JobPriority.USER, JobPolicy.none(0), 1, 1, null, io.ferry.control.guest.GuestState.RUNNING),
                    base.plusSeconds(i / 3).plusNanos(i % 5 == 0 ? 0 : 1000));   // groups of equal createdAt
            job.transitionTo(i % 2 == 0 ? JobStatus.CANCELLED : JobStatus.FAILED, "test", "test", base);
            made.add(jobRepository.save(job));
        }
        java.util.Comparator<MigrationJob> newestFirst = java.util.Comparator.comparing(MigrationJob::createdAt)
                .thenComparing(MigrationJob::id).reversed();
        List<JobFilter> filters = List.of(JobFilter.ALL, new JobFilter(null, null, x), new JobFilter(null, null, y),
                new JobFilter(JobStatus.FAILED, null, x), new JobFilter(null, guest, null),
                new JobFilter(JobStatus.CANCELLED, guest, null), new JobFilter(JobStatus.CANCELLED, guest, y),
                new JobFilter(JobStatus.FAILED, null, null));
        for (JobFilter filter : filters) {
            List<UUID> expected = made.stream().filter(j -> matches(filter, j)).sorted(newestFirst)
                    .map(MigrationJob::id).toList();
            List<UUID> walked = new java.util.ArrayList<>();
            JobCursor next = null;
            do {
                JobPage page = views.list(filter, next == null ? null
                        : JobCursor.decode(next.encode()), 4);   // through the wire form, as a client does
                page.items().forEach(j -> walked.add(j.id()));
                next = page.next();
                assertThat(page.totalItems()).isNull();
            } while (next != null && walked.size() < expected.size());
            // the unfiltered list goes on with the suite's other jobs: compare its first entries
            assertThat(filter == JobFilter.ALL ? walked.subList(0, expected.size()) : walked).as(filter.toString())
                    .containsExactlyElementsOf(expected);
            if (filter != JobFilter.ALL) {
                assertThat(next).as(filter + ": no cursor after the last page").isNull();
                JobPage second = views.page(filter, 1, 3);
                assertThat(second.totalItems()).isEqualTo(expected.size());
                assertThat(second.items()).extracting(MigrationJob::id)
                        .containsExactlyElementsOf(expected.subList(Math.min(3, expected.size()),
                                Math.min(6, expected.size())));
            }
        }
    }

    private static boolean matches(JobFilter f, MigrationJob j) {
        return (f.status() == null || j.status() == f.status()) && (f.guestId() == null || f.guestId().equals(j.guestId()))
                && (f.hostId() == null || f.hostId().equals(j.sourceHostId()) || f.hostId().equals(j.destinationHostId()));
    }

    @Test
    void ownershipHandOffStepsAreCompareAndSetAndOnlyOneSideWins() {
        Guest guest = guestOnA();
        UUID disk = guests.disksOf(guest.id()).get(0).id();
        UUID job = UUID.randomUUID();
        UUID otherJob = UUID.randomUUID();
        DiskOwnership start = ownership.find(disk).orElseThrow();
        assertThat(start.generation()).isEqualTo(1);
        assertThat(start.state()).isEqualTo(OwnershipState.ACTIVE);
        assertThat(ownership.expectActive(List.of(disk), "host-a")).containsEntry(disk, 1L);
        assertThatThrownBy(() -> ownership.expectActive(List.of(disk), "host-b"))
                .isInstanceOf(OwnershipConflictException.class).hasMessageContaining("not active on host-b");

        assertThatThrownBy(() -> ownership.handOff(job, "host-a", Map.of(disk, 2L), "test"))
                .isInstanceOf(OwnershipConflictException.class).hasMessageContaining("at generation 2");
        assertThatThrownBy(() -> ownership.handOff(job, "host-b", Map.of(disk, 1L), "test"))
                .isInstanceOf(OwnershipConflictException.class).hasMessageContaining("active on host-a");
        assertThatThrownBy(() -> ownership.activate(job, "host-b", Map.of(disk, 1L), "test"))
                .isInstanceOf(OwnershipConflictException.class).hasMessageContaining("expected handoff");

        DiskOwnership handoff = ownership.handOff(job, "host-a", Map.of(disk, 1L), "test").get(0);
        assertThat(handoff.state()).isEqualTo(OwnershipState.HANDOFF);
        assertThat(handoff.generation()).isEqualTo(2);
        // a retry after a lost answer gets the same grant; another job does not
        assertThat(ownership.handOff(job, "host-a", Map.of(disk, 1L), "test").get(0).generation()).isEqualTo(2);
        assertThatThrownBy(() -> ownership.handOff(otherJob, "host-a", Map.of(disk, 1L), "test"))
                .isInstanceOf(OwnershipConflictException.class);

        DiskOwnership moved = ownership.activate(job, "host-b", Map.of(disk, 1L), "test").get(0);
        assertThat(moved.ownerHostId()).isEqualTo("host-b");
        assertThat(moved.generation()).isEqualTo(3);
        assertThat(ownership.activate(job, "host-b", Map.of(disk, 1L), "test").get(0).generation()).isEqualTo(3);
        // the destination won: the source can no longer take the image back
        assertThatThrownBy(() -> ownership.reactivate(job, "host-a", Map.of(disk, 1L), "too late", "test"))
                .isInstanceOf(OwnershipConflictException.class).hasMessageContaining("active on host-b");
        assertThat(ownership.history(disk)).extracting(r -> r.generation() + ":" + r.fromOwnerHostId() + ":"
                        + r.fromState() + "->" + r.ownerHostId() + ":" + r.state() + ":" + (r.jobId() != null))
                .containsExactly("1:null:null->host-a:ACTIVE:false", "2:host-a:ACTIVE->host-a:HANDOFF:true",
                        "3:host-a:HANDOFF->host-b:ACTIVE:true");
    }

    @Test
    void aReactivationBeatsALateActivation() {
        Guest guest = guestOnA();
        UUID disk = guests.disksOf(guest.id()).get(0).id();
        UUID job = UUID.randomUUID();
        ownership.handOff(job, "host-a", Map.of(disk, 1L), "test");
        assertThat(ownership.inHandoffBy(job, List.of(disk))).hasSize(1);
        DiskOwnership back = ownership.reactivate(job, "host-a", Map.of(disk, 1L), "stream broke", "test").get(0);
        assertThat(back.ownerHostId()).isEqualTo("host-a");
        assertThat(back.state()).isEqualTo(OwnershipState.ACTIVE);
        assertThat(back.generation()).isEqualTo(3);
        assertThatThrownBy(() -> ownership.activate(job, "host-b", Map.of(disk, 1L), "test"))
                .isInstanceOf(OwnershipConflictException.class);
        // re-activating when the hand-off was never recorded also moves the generation on
        UUID next = UUID.randomUUID();
        assertThat(ownership.reactivate(next, "host-a", Map.of(disk, 3L), "control plane was away", "test")
                .get(0).generation()).isEqualTo(4);
        assertThat(ownership.inHandoffBy(job, List.of(disk))).isEmpty();
    }

    /**
     * Post-copy at the control plane: the destination's activation at RUN moves the guest but
     * not the job's end; a broken link pauses it, a recovery resumes it; cancel is refused
     * throughout; the job completes with the source's last report.
     */
    @Test
    void aQueuedJobRecordsWhatItWaitsForAndAdmissionHonoursLimitsChangedAtRunTime() {
        MigrationJob job = jobFor(guestOnA(), null);
        admission.setClusterLimits(0, null, null, "test");
        try {
            assertThat(admission.admit()).extracting(MigrationJob::id).doesNotContain(job.id());
            MigrationJob waiting = views.get(job.id());
            assertThat(waiting.status()).isEqualTo(JobStatus.QUEUED);
            assertThat(waiting.waitingFor()).startsWith("cluster limit: ").endsWith(" of 0 jobs running");
            admission.admit();   // same limit, same counts: no new timeline entry
            assertThat(views.events(job.id())).extracting(JobEvent::kind)
                    .containsExactly(JobEvent.Kind.TRANSITION, JobEvent.Kind.WAITING);
        } finally {
            admission.setClusterLimits(null, null, null, "test");
        }
        assertThat(admission.limits().maxJobs()).isEqualTo(1000);
        assertThat(admission.admit()).extracting(MigrationJob::id).contains(job.id());
        MigrationJob admitted = views.get(job.id());
        assertThat(admitted.status()).isEqualTo(JobStatus.SETUP);
        assertThat(admitted.waitingFor()).isNull();
        assertThat(admitted.sourceWorkerInstance()).isEqualTo("instance-host-a");
        assertThat(views.events(job.id()).get(2).reason()).startsWith("admitted after waiting for cluster limit");
    }

    /**
     * One driver per job: admission gives the admitting replica the job's lease; another replica
     * takes it over only once it expired, by compare-and-set (one winner, epoch + 1); the old
     * driver's later writes are refused and change nothing; the lease goes when the job ends.
     */
    @Test
    void aJobsLeaseFencesTheReplicaItWasTakenFrom() {
        MigrationJob job = jobFor(guestOnA(), null);
        assertThat(admission.admit()).extracting(MigrationJob::id).contains(job.id());
        assertThat(leases.drives(job.id())).isTrue();
        io.ferry.control.lease.JobLeases.Lease first = leases.current(job.id()).orElseThrow();
        assertThat(first.owner()).isEqualTo(replica.owner());
        assertThat(first.epoch()).isEqualTo(1);
        assertThat(views.driver(views.get(job.id())).epoch()).isEqualTo(1);
        // a live lease is not taken over
        assertThat(leases.takeOverOrphans(List.of(job.id()))).isEmpty();

        // another replica takes it over after it expired
        org.springframework.jdbc.core.JdbcTemplate jdbc = new org.springframework.jdbc.core.JdbcTemplate(dataSource);
        jdbc.update("update job_leases set expires_at = ? where job_id = ?",
                java.time.OffsetDateTime.now().minusMinutes(1), job.id());
        assertThat(jdbc.update("update job_leases set owner = 'other/x', epoch = epoch + 1, expires_at = ? "
                + "where job_id = ? and epoch = ?", java.time.OffsetDateTime.now().plusMinutes(1), job.id(), 1L))
                .isEqualTo(1);
        assertThat(jdbc.update("update job_leases set owner = 'third/y', epoch = epoch + 1 where job_id = ? and epoch = ?",
                job.id(), 1L)).as("the compare-and-set has one winner").isZero();

        // the old driver's write is refused and changes nothing
        long version = views.get(job.id()).version();
        assertThatThrownBy(() -> store.failAsDriver(job.id(), "stale driver", "test"))
                .isInstanceOf(io.ferry.control.lease.LeaseLostException.class);
        assertThat(views.get(job.id()).status()).isEqualTo(JobStatus.SETUP);
        assertThat(views.get(job.id()).version()).isEqualTo(version);
        assertThat(leases.drives(job.id())).isFalse();
        assertThat(views.driver(views.get(job.id()))).isEqualTo(new JobDriver("other", 2,
                leases.current(job.id()).orElseThrow().expiresAt()));

        // a worker's fact needs no lease; the job's end removes it
        store.inJob(job.id(), j -> {
            store.transition(j, JobStatus.CANCELLING, "cancelled by a user", "test");
            store.transition(j, JobStatus.CANCELLED, "the source worker cancelled it", "worker");
        });
        assertThat(leases.current(job.id())).isEmpty();
    }

    @Test
    void policiesKeepTheirSelectorsAndSettingsAndAJobKeepsWhatItWasResolvedTo() {
        policies.create("db-" + UUID.randomUUID().toString().substring(0, 8), "databases",
                Map.of("app", "db", "tier", "gold"), Map.of("zone", "a"), new io.ferry.control.policy.PolicySettings(
                        1L << 20, 700L, new DowntimeRamp(List.of(new DowntimeRamp.Step(30, 900))), 150L, 60L, false,
                        null, JobPriority.SYSTEM, List.of(EscalationStep.POSTCOPY, EscalationStep.ABORT), 10L,
                        Map.of("ssd", "true"), true, new RequestedConvergence(true, null, CompressionMethod.ZSTD,
                        new ConvergenceTuning(30, null, 80, null, null, 3))), "test");   // verified pre-copy only: post-copy cannot verify
        io.ferry.control.policy.MigrationPolicy stored = policies.list().stream()
                .filter(p -> "databases".equals(p.description())).findFirst().orElseThrow();
        assertThat(stored.guestSelector()).isEqualTo(Map.of("app", "db", "tier", "gold"));
        assertThat(stored.hostSelector()).isEqualTo(Map.of("zone", "a"));
        assertThat(stored.settings().downtimeRamp().steps()).containsExactly(new DowntimeRamp.Step(30, 900));
        assertThat(stored.settings().escalation()).containsExactly(EscalationStep.POSTCOPY, EscalationStep.ABORT);
        assertThat(stored.settings().destinationSelector()).isEqualTo(Map.of("ssd", "true"));
        assertThat(stored.settings().convergence()).isEqualTo(new RequestedConvergence(true, null,
                CompressionMethod.ZSTD, new ConvergenceTuning(30, null, 80, null, null, 3)));

        hosts.relabel("host-a", Map.of("zone", "a"));
        hosts.relabel("host-b", Map.of("ssd", "true"));
        Guest guest = guests.relabel(guestOnA().id(), Map.of("app", "db", "tier", "gold", "extra", "x"));
        try {
            MigrationJob job = commands.create(new NewMigration(guest.id(), "host-b", RequestedParameters.NONE), null,
                    "test");
            assertThat(job.policy().policyName()).isEqualTo(stored.name());
            assertThat(job.priority()).isEqualTo(JobPriority.SYSTEM);
            assertThat(job.parameters().maxBandwidth()).isEqualTo(1L << 20);
            assertThat(job.parameters().postcopy()).isFalse();
            assertThat(job.parameters().verifyChecksums()).isTrue();
            assertThat(job.policy().escalation()).containsExactly(EscalationStep.POSTCOPY, EscalationStep.ABORT);
            assertThat(job.policy().downtimeRamp().steps()).hasSize(1);
            // the policy's convergence tools, QEMU's defaults where it names none
            assertThat(job.parameters().convergence()).isEqualTo(new ConvergenceSettings(
                    new ConvergenceSettings.AutoConverge(true, 30, 10, 80, false), ConvergenceSettings.Xbzrle.OFF,
                    new ConvergenceSettings.Compression(CompressionMethod.ZSTD, 3)));
            assertThat(views.get(job.id()).parameters().convergence()).as("as stored")
                    .isEqualTo(job.parameters().convergence());
            assertThat(job.transferBytes()).isEqualTo(16L << 20);
        } finally {
            policies.delete(stored.name(), "test");
            hosts.relabel("host-a", Map.of());
            hosts.relabel("host-b", Map.of());
        }
    }

    @Test
    void aPostcopyJobRunsPausesRecoversAndCompletesButNeverCancels() {
        Guest guest = guestOnA();
        UUID disk = guests.disksOf(guest.id()).get(0).id();
        MigrationJob job = jobFor(guest, null, true);
        assertThatThrownBy(() -> commands.recover(job.id(), "test")).isInstanceOf(JobConflictException.class)
                .hasMessageContaining("only a postcopy-paused job");
        assertThat(admission.admit()).extracting(MigrationJob::id).contains(job.id());
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.ACTIVE, "pre-copy", null, null),
                "worker");
        handoff.ownershipStep(job.id(), new OwnershipStep(HandoffStep.HANDOFF, "host-a",
                List.of(new DiskGeneration(disk, 1L))), "worker");
        handoff.ownershipStep(job.id(), new OwnershipStep(HandoffStep.ACTIVATE_POSTCOPY, "host-b",
                List.of(new DiskGeneration(disk, 1L))), "worker");
        assertThat(views.get(job.id()).status()).isEqualTo(JobStatus.POSTCOPY_ACTIVE);
        assertThat(guests.get(guest.id()).hostId()).isEqualTo("host-b");
        assertThatThrownBy(() -> commands.cancel(job.id(), "test")).isInstanceOf(IllegalTransitionException.class);

        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.POSTCOPY_PAUSED,
                "link broken", null, null), "worker");
        assertThat(views.get(job.id()).status()).isEqualTo(JobStatus.POSTCOPY_PAUSED);
        assertThat(views.get(job.id()).statusReason()).isEqualTo("link broken");
        assertThatThrownBy(() -> commands.cancel(job.id(), "test")).isInstanceOf(IllegalTransitionException.class);
        assertThat(commands.recover(job.id(), "test").status()).isEqualTo(JobStatus.POSTCOPY_PAUSED);
        // a progress report during the pause (the destination's fault figures) changes nothing else
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.PROGRESS, null,
                new MigrationProgress(0, 0, null, null, null, null, new MigrationProgress.Postcopy(0, 0, 0, 0, 0,
                        MigrationProgress.FaultLatency.of(new long[] {1_000_000, 2_000_000, 9_000_000})), null),
                null), "worker");
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.POSTCOPY_ACTIVE, "recovered", null,
                null), "worker");
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.COMPLETED, "every page arrived",
                null, null), "worker");
        MigrationJob done = views.get(job.id());
        assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(done.destinationFaults()).contains("\"faults\":3").contains("\"maxMs\":9.0");
        assertThat(views.events(job.id())).extracting(e -> e.to().apiName()).containsExactly("queued", "setup",
                "active", "postcopy-active", "postcopy-paused", "postcopy-active", "completed");
    }

    /**
     * A worker that reports every 5 ms gets its job's figures written at most once per
     * {@code ferry.events.progress-interval} (500 ms; each write raises the row's version), and the
     * newest figures are not lost: the terminal report takes them with it.
     */
    @Test
    void figuresAreWrittenAtMostOncePerIntervalHoweverOftenTheWorkerReports() throws InterruptedException {
        MigrationJob job = jobFor(guestOnA(), null);
        assertThat(admission.admit()).extracting(MigrationJob::id).contains(job.id());
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.ACTIVE, "pre-copy", null, null),
                "worker");
        long before = views.get(job.id()).version();
        long started = System.nanoTime();
        int reportsSent = 200;
        for (int i = 1; i <= reportsSent; i++) {
            MigrationProgress.Ram ram = new MigrationProgress.Ram(16L << 20, (long) i << 16, (16L << 20) - ((long) i << 16),
                    0, i, (long) i << 16, 0, 100.0, 1, 1000, 1);
            reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.PROGRESS, null,
                    new MigrationProgress(5, i, null, null, ram, null, null, null, null, null), null), "worker");
            Thread.sleep(5);
        }
        long elapsedMs = (System.nanoTime() - started) / 1_000_000;
        long writes = views.get(job.id()).version() - before;
        assertThat(writes).as("%d reports over %d ms", reportsSent, elapsedMs)
                .isPositive().isLessThanOrEqualTo(elapsedMs / 500 + 2);
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.COMPLETED, "done", null, null),
                "worker");
        MigrationJob done = views.get(job.id());
        assertThat(done.status()).isEqualTo(JobStatus.COMPLETED);
        assertThat(views.progress(done).ram().transferred()).isEqualTo((long) reportsSent << 16);
    }

    @Test
    void theJobViewSaysWhetherItsDataPlaneIsEncrypted() {
        MigrationJob job = jobFor(guestOnA(), null);
        assertThat(admission.admit()).extracting(MigrationJob::id).contains(job.id());
        MigrationProgress.Ram ram = new MigrationProgress.Ram(16L << 20, 1 << 20, 15L << 20, 0, 256, 1 << 20, 0,
                100.0, 1, 1000, 0);
        MigrationProgress.DataPlane tls = new MigrationProgress.DataPlane(true, "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                "openssl");
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.ACTIVE, "pre-copy",
                new MigrationProgress(5, 10, null, null, ram, null, null, null, tls, null), null), "worker");
        assertThat(views.progress(views.get(job.id())).dataPlane()).isEqualTo(tls);

        // the destination's digests merge in without losing it
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.ACTIVE, "pre-copy",
                new MigrationProgress(5, 20, null, null, ram, null, null, new MigrationProgress.Verification("a",
                        null, "b", null, List.of(), null), tls, null), null), "worker");
        reports.recordReport(job.id(), new MigrationReport(job.id(), MigrationPhase.VERIFIED, "destination digests",
                new MigrationProgress(0, 0, null, null, null, null, null, new MigrationProgress.Verification(null,
                        "a", null, "b", null, List.of())), null), "worker");
        MigrationProgress merged = views.progress(views.get(job.id()));
        assertThat(merged.verification().destinationMemory()).isEqualTo("a");
        assertThat(merged.dataPlane()).isEqualTo(tls);
    }
}
