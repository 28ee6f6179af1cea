package io.ferry.control.host;

import io.ferry.control.system.LabelsConverter;
import jakarta.persistence.Column;
import jakarta.persistence.Convert;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A worker host as the control plane knows it: where to reach it, what it offers, when it last spoke. */
@Entity
@Table(name = "hosts")
public class Host {

    @Id
    private String id;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    private HostState state;

    /** Changes every time the worker process starts; tells a restart from a heartbeat. */
    @Column(name = "worker_instance", nullable = false)
    private String workerInstance;

    @Column(name = "control_address", nullable = false)
    private String controlAddress;

    @Column(name = "data_address", nullable = false)
    private String dataAddress;

    /** Hosts with the same datastore id see the same image files (shared storage). */
    @Column(name = "datastore_id", nullable = false)
    private String datastoreId;

    @Column(name = "memory_capacity_bytes", nullable = false)
    private long memoryCapacityBytes;

    @Column(nullable = false)
    private int cpus;

    @Column(name = "registered_at", nullable = false)
    private Instant registeredAt;

    @Column(name = "last_heartbeat_at", nullable = false)
    private Instant lastHeartbeatAt;

    @Convert(converter = LabelsConverter.class)
    @Column(nullable = false)
    private Map<String, String> labels = new TreeMap<>();

    /** What the worker can run, as it reported at its latest registration. */
    @Convert(converter = HostRuntimesConverter.class)
    @Column(nullable = false)
    private List<HostRuntime> runtimes = List.of(SYNTHETIC_ONLY);

    /** A cordoned host takes no incoming guest (a drain cordons it). */
    @Column(nullable = false)
    private boolean cordoned;

    /**
     * SHA-256 (hex) of the worker's own credential, issued at registration; null when it holds
     * none (revoked, or not registered since). See {@link WorkerCredentials}.
     */
    @Column(name = "credential_hash")
    private String credentialHash;

    /** Revoked for good: registrations for this host are refused until an operator lifts it. */
    @Column(name = "registration_refused", nullable = false)
    private boolean registrationRefused;

    @Version
    private long version;

    protected Host() {
    }

    Host(String id, Instant now) {
        this.id = id;
        this.registeredAt = now;
    }

    /** What a worker that reports no runtimes runs. */
    static final HostRuntime SYNTHETIC_ONLY = new HostRuntime("synthetic", true, "built in");

    void register(String workerInstance, String controlAddress, String dataAddress, String datastoreId,
                  long memoryCapacityBytes, int cpus, List<HostRuntime> runtimes, Instant now) {
        this.runtimes = List.copyOf(runtimes);
        if (!workerInstance.equals(this.workerInstance)) {
            registeredAt = now;
        }
        this.workerInstance = workerInstance;
        this.controlAddress = controlAddress;
        this.dataAddress = dataAddress;
        this.datastoreId = datastoreId;
        this.memoryCapacityBytes = memoryCapacityBytes;
        this.cpus = cpus;
        heartbeat(now);
    }

    /** A new credential replaces the old one, which stops working at once. */
    void issueCredential(String hash) {
        credentialHash = hash;
    }

    /** The worker must register again; with {@code refuseRegistration} it cannot until an operator lifts that. */
    void revokeCredential(boolean refuseRegistration) {
        credentialHash = null;
        registrationRefused = refuseRegistration;
    }

    /** The runtimes the worker reported, in its order. */
    public List<HostRuntime> runtimes() {
        return List.copyOf(runtimes);
    }

    /** The named runtime as the worker reported it; empty if it did not mention it. */
    public java.util.Optional<HostRuntime> runtime(String name) {
        return runtimes.stream().filter(r -> r.runtime().equals(name)).findFirst();
    }

    public boolean hasCredential() {
        return credentialHash != null;
    }

    public boolean isRegistrationRefused() {
        return registrationRefused;
    }

    void heartbeat(Instant now) {
        lastHeartbeatAt = now;
        state = HostState.REACHABLE;
    }

    boolean isStale(Instant now, Duration timeout) {
        return state == HostState.REACHABLE && lastHeartbeatAt.plus(timeout).isBefore(now);
    }

    void markUnreachable() {
        state = HostState.UNREACHABLE;
    }

    void relabel(Map<String, String> newLabels) {
        labels = new TreeMap<>(newLabels);
    }

    void cordon(boolean on) {
        cordoned = on;
    }

    public Map<String, String> labels() {
        return Map.copyOf(labels);
    }

    public boolean isCordoned() {
        return cordoned;
    }

    public String id() {
        return id;
    }

    public HostState state() {
        return state;
    }

    public boolean isReachable() {
        return state == HostState.REACHABLE;
    }

    public String workerInstance() {
        return workerInstance;
    }

    public String controlAddress() {
        return controlAddress;
    }

    public String datastoreId() {
        return datastoreId;
    }

    /** Whether both hosts' workers open the same image files. */
    public boolean sharesDatastoreWith(Host other) {
        return !datastoreId.isEmpty() && datastoreId.equals(other.datastoreId);
    }

    public String dataAddress() {
        return dataAddress;
    }

    public long memoryCapacityBytes() {
        return memoryCapacityBytes;
    }

    public int cpus() {
        return cpus;
    }

    public Instant registeredAt() {
        return registeredAt;
    }

    public Instant lastHeartbeatAt() {
        return lastHeartbeatAt;
    }
}
