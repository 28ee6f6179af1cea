package io.ferry.control.policy;

import io.ferry.control.admission.AdmissionService;
import io.ferry.control.admission.Placement;
import io.ferry.control.guest.Disk;
import io.ferry.control.guest.Guest;
import io.ferry.control.guest.GuestNotFoundException;
import io.ferry.control.guest.GuestService;
import io.ferry.control.guest.GuestState;
import io.ferry.control.host.Host;
import io.ferry.control.host.HostService;
import io.ferry.control.job.JobPlan;
import io.ferry.control.job.EngineFeatures;
import io.ferry.control.job.JobPlanner;
import io.ferry.control.job.JobPlanner.Refusal;
import io.ferry.control.job.NewMigration;
import io.ferry.channel.StorageMode;
import io.ferry.control.system.Labels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Plans a job: the guest's host is the source; the destination is the one asked for, or the
 * one placement chooses; the settings come from request, policy and defaults (see
 * {@link PolicyMatch}). Every check the move fails is named, so pre-flight can list them all.
 *
 * <p>Placement (no destination named, e.g. a drain) considers the hosts that pass every check
 * (known, reachable, not cordoned, not the source, not tried before, room for the guest, a
 * storage mode that fits, the policy's destination labels) and lets {@link Placement} choose.
 */
@Component
class PolicyPlanner implements JobPlanner {

    private final GuestService guests;
    private final HostService hosts;
    private final PolicyRepository policies;
    private final AdmissionService admission;
    private final long defaultGraceSeconds;

    PolicyPlanner(GuestService guests, HostService hosts, PolicyRepository policies, AdmissionService admission,
                  @Value("${ferry.policy.escalation-grace:30s}") java.time.Duration defaultGrace) {
        this.guests = guests;
        this.hosts = hosts;
        this.policies = policies;
        this.admission = admission;
        this.defaultGraceSeconds = defaultGrace.toSeconds();
    }

    @Override
    public Planned plan(NewMigration request) {
        Guest guest;
        try {
            guest = guests.get(request.guestId());
        } catch (GuestNotFoundException notFound) {
            return new Planned(null, List.of(new Check("guest", "guest " + request.guestId() + " does not exist",
                    Refusal.PLACEMENT)));
        }
        Host source = hosts.find(guest.hostId()).orElseThrow();
        Optional<MigrationPolicy> policy = PolicyMatch.select(policies.findAllByOrderByNameAsc(), guest.labels(),
                source.labels());
        List<Disk> disks = guests.disksOf(guest.id());
        List<Check> guestChecks = guestChecks(guest);
        if (request.destinationHostId() != null) {
            Optional<Host> named = hosts.find(request.destinationHostId());
            if (named.isEmpty()) {
                List<Check> failures = new ArrayList<>(List.of(new Check("destination", "destination host '"
                        + request.destinationHostId() + "' is unknown", Refusal.PLACEMENT)));
                failures.addAll(guestChecks);
                return new Planned(null, failures);
            }
            Candidate c = candidate(request, guest, source, named.get(), disks, policy.orElse(null));
            List<Check> failures = new ArrayList<>(c.failures());
            failures.addAll(guestChecks);
            return new Planned(c.plan(), failures);
        }
        Map<String, AdmissionService.Load> load = admission.placementLoad();
        List<Candidate> candidates = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        for (Host h : hosts.list()) {
            if (h.id().equals(source.id())) {
                continue;
            }
            if (request.avoidHosts().contains(h.id())) {
                refusals.add(h.id() + ": already tried");
                continue;
            }
            Candidate c = candidate(request, guest, source, h, disks, policy.orElse(null));
            if (c.failures().isEmpty()) {
                candidates.add(c);
            } else {
                refusals.add(h.id() + ": " + c.failures().get(0).detail());
            }
        }
        Optional<Candidate> best = Placement.choose(candidates.stream().map(c -> new Placement.Option(c.host().id(),
                        free(c.host()), load(load, c.host().id()).promisedBytes(), load(load, c.host().id()).jobs()))
                        .toList())
                .flatMap(chosen -> candidates.stream().filter(c -> c.host().id().equals(chosen.hostId())).findFirst());
        if (best.isEmpty()) {
            List<Check> failures = new ArrayList<>(List.of(new Check("placement", "no destination can take guest "
                    + guest.id() + (refusals.isEmpty() ? ": there is no other host" : ": " + String.join("; ", refusals)),
                    Refusal.PLACEMENT)));
            failures.addAll(guestChecks);
            return new Planned(null, failures);
        }
        return new Planned(best.get().plan(), guestChecks);
    }

    private record Candidate(Host host, JobPlan plan, List<Check> failures) {
    }

    private Candidate candidate(NewMigration request, Guest guest, Host source, Host destination, List<Disk> disks,
                                MigrationPolicy policy) {
        StorageMode forHosts = source.sharesDatastoreWith(destination) ? StorageMode.SHARED : StorageMode.COPY;
        PolicyMatch.Resolved resolved = PolicyMatch.resolve(request.requested(), policy, defaultGraceSeconds, forHosts);
        List<Check> failures = new ArrayList<>();
        if (destination.id().equals(source.id())) {
            failures.add(new Check("destination", "guest " + guest.id() + " already runs on '" + destination.id()
                    + "': source and destination must differ", Refusal.PLACEMENT));
        } else if (!destination.isReachable()) {
            failures.add(new Check("destination", "destination host '" + destination.id() + "' is unreachable",
                    Refusal.PLACEMENT));
        } else if (destination.isCordoned()) {
            failures.add(new Check("destination", "destination host '" + destination.id()
                    + "' is cordoned: it takes no incoming guests", Refusal.PLACEMENT));
        }
        long free = free(destination);
        if (guest.memoryBytes() > free) {
            failures.add(new Check("capacity", "guest of " + guest.memoryBytes() + " bytes does not fit on host '"
                    + destination.id() + "': " + Math.max(0, free) + " of " + destination.memoryCapacityBytes()
                    + " bytes are free", Refusal.PLACEMENT));
        }
        String storage = storageProblem(resolved.storage(), source, destination, disks.isEmpty());
        if (storage != null) {
            failures.add(new Check("storage", storage, Refusal.PLACEMENT));
        }
        if (!Labels.matches(resolved.destinationSelector(), destination.labels())) {
            failures.add(new Check("labels", "destination host '" + destination.id() + "' does not carry the labels "
                    + resolved.destinationSelector() + " that policy '" + policy.name() + "' requires", Refusal.PLACEMENT));
        } else if (!Labels.matches(request.destinationSelector(), destination.labels())) {
            failures.add(new Check("labels", "destination host '" + destination.id() + "' does not carry the labels "
                    + request.destinationSelector() + " the request requires", Refusal.PLACEMENT));
        }
        failures.addAll(parameterChecks(resolved));
        long diskBytes = resolved.storage() == StorageMode.COPY ? disks.stream().mapToLong(Disk::sizeBytes).sum() : 0;
        JobPlan plan = new JobPlan(guest.id(), source.id(), destination.id(), resolved.parameters(),
                resolved.priority(), resolved.policy(), guest.memoryBytes(), guest.memoryBytes() + diskBytes,
                request.drainId(), guest.state() == GuestState.PAUSED ? GuestState.PAUSED : GuestState.RUNNING);
        return new Candidate(destination, plan, failures);
    }

    /** What the resolved parameters ask that they cannot have: switches without post-copy, unsupported features. */
    private static List<Check> parameterChecks(PolicyMatch.Resolved resolved) {
        List<Check> failures = new ArrayList<>();
        boolean postcopy = resolved.parameters().postcopy();
        if (!postcopy && resolved.parameters().postcopyAfterIterations() > 0) {
            failures.add(new Check("parameters", "parameters.postcopyAfterIterations: switching to post-copy needs "
                    + "parameters.capabilities.postcopy=true (or a policy with allowPostcopy)", Refusal.INVALID));
        }
        if (!postcopy && resolved.parameters().postcopyWhenNotConverging()) {
            failures.add(new Check("parameters", "parameters.postcopyWhenNotConverging: switching to post-copy needs "
                    + "parameters.capabilities.postcopy=true (or a policy with allowPostcopy)", Refusal.INVALID));
        }
        List<String> unsupported = EngineFeatures.unsupported(resolved.parameters());
        if (!unsupported.isEmpty()) {
            failures.add(new Check("engine", "this engine does not support " + String.join(", ", unsupported),
                    Refusal.PLACEMENT));
        }
        return failures;
    }

    private long free(Host host) {
        return host.memoryCapacityBytes() - guests.allocatedMemory(host.id());
    }

    private static AdmissionService.Load load(Map<String, AdmissionService.Load> load, String host) {
        return load.getOrDefault(host, new AdmissionService.Load(0, 0));
    }

    private static List<Check> guestChecks(Guest guest) {
        if (guest.runtime() != io.ferry.channel.GuestRuntime.SYNTHETIC) {
            // issue 16, item 2 lifts this; refused here, before any job record is written
            return List.of(new Check("runtime", "guest " + guest.id() + " is a " + guest.runtime().apiName()
                    + " guest: migration of " + guest.runtime().apiName() + " guests is not supported yet",
                    Refusal.PLACEMENT));
        }
        if (guest.activeJobId() != null) {
            return List.of(new Check("guest", "guest " + guest.id() + " already has an unfinished migration job "
                    + guest.activeJobId(), Refusal.CONFLICT));
        }
        if (guest.state() != GuestState.RUNNING && guest.state() != GuestState.PAUSED) {
            return List.of(new Check("guest", "guest " + guest.id() + " is " + guest.state().apiName()
                    + " and cannot be migrated", Refusal.CONFLICT));
        }
        return List.of();
    }

    /**
     * Shared storage needs both hosts to see the same images; a copy needs them not to (copying
     * an image onto itself would empty it before reading it).
     */
    private static String storageProblem(StorageMode storage, Host source, Host destination, boolean noDisks) {
        if (noDisks) {
            return null;
        }
        boolean shared = source.sharesDatastoreWith(destination);
        if (storage == StorageMode.SHARED && !shared) {
            return "hosts '" + source.id() + "' and '" + destination.id() + "' do not share a datastore ("
                    + describe(source) + " vs " + describe(destination) + "): use parameters.storage=copy to stream "
                    + "the disks";
        }
        if (storage == StorageMode.COPY && shared) {
            return "hosts '" + source.id() + "' and '" + destination.id() + "' share datastore "
                    + source.datastoreId() + ": the images are already there, use parameters.storage=shared";
        }
        return null;
    }

    private static String describe(Host host) {
        return host.datastoreId().isEmpty() ? "unknown" : host.datastoreId();
    }
}
