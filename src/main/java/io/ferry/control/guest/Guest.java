package io.ferry.control.guest;

import io.ferry.channel.GuestReport;
import io.ferry.channel.GuestRuntime;
import jakarta.persistence.CollectionTable;
import io.ferry.control.system.LabelsConverter;
import jakarta.persistence.Column;
import jakarta.persistence.Convert;
import jakarta.persistence.ElementCollection;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.FetchType;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.OrderColumn;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/** A guest placed on a host. Its bytes live on the worker; this row holds what it is and where. */
@Entity
@Table(name = "guests")
public class Guest {

    @Id
    private UUID id;

    @Column(nullable = false)
    private String name;

    @Column(name = "host_id", nullable = false)
    private String hostId;

    @Column(nullable = false)
    private String state;

    /** What runs the guest on its worker, by its API name (see {@link io.ferry.channel.GuestRuntime}). */
    @Column(nullable = false)
    private String runtime = GuestRuntime.SYNTHETIC.apiName();

    /** Why the guest failed, as its worker reported; null unless {@link GuestState#FAILED}. */
    @Column
    private String failure;

    @Column(name = "worker_instance", nullable = false)
    private String workerInstance;

    @Column(name = "state_seq", nullable = false)
    private long stateSeq;

    @Column(name = "memory_bytes", nullable = false)
    private long memoryBytes;

    @ElementCollection(fetch = FetchType.EAGER)
    @CollectionTable(name = "ram_blocks", joinColumns = @JoinColumn(name = "guest_id"))
    @OrderColumn(name = "position")
    private List<RamBlock> ramBlocks = new ArrayList<>();

    @Column(name = "device_state_bytes", nullable = false)
    private int deviceStateBytes;

    @Embedded
    private Workload workload;

    /** Guarded by compare-and-set in {@link GuestRepository#claimForJob}. */
    @Column(name = "active_job_id")
    private UUID activeJobId;

    @Column(name = "created_at", nullable = false)
    private Instant createdAt;

    @Convert(converter = LabelsConverter.class)
    @Column(nullable = false)
    private Map<String, String> labels = new TreeMap<>();

    @Version
    private long version;

    protected Guest() {
    }

    Guest(UUID id, String name, String hostId, GuestRuntime runtime, GuestReport created, List<RamBlock> ramBlocks,
          int deviceStateBytes, Workload workload, Map<String, String> labels, Instant createdAt) {
        this.runtime = runtime.apiName();
        this.labels = new TreeMap<>(labels);
        this.id = id;
        this.name = name;
        this.hostId = hostId;
        this.state = created.state().apiName();
        this.stateSeq = created.stateSeq();
        this.workerInstance = created.workerInstance();
        this.ramBlocks = new ArrayList<>(ramBlocks);
        this.memoryBytes = ramBlocks.stream().mapToLong(RamBlock::sizeBytes).sum();
        this.deviceStateBytes = deviceStateBytes;
        this.workload = workload;
        this.createdAt = createdAt;
    }

    /**
     * Applies a worker's report unless a newer one was applied already. Returns true when the
     * state changed. {@code incoming} is never shown: the record moves to the destination only
     * when the destination takes the guest over (its own sequence starts anew then, so an older
     * report of it filling the guest could otherwise win); {@code migrating-out} only while a
     * job holds the guest.
     */
    boolean apply(GuestReport report) {
        if (report.stateSeq() <= stateSeq || !report.workerInstance().equals(workerInstance)) {
            return false;
        }
        String reported = report.state().apiName();
        if (reported.equals(GuestState.INCOMING.apiName())
                || reported.equals(GuestState.MIGRATING_OUT.apiName()) && activeJobId == null) {
            return false;
        }
        stateSeq = report.stateSeq();
        boolean changed = !state.equals(reported);
        state = reported;
        if (reported.equals(GuestState.FAILED.apiName())) {
            failure = report.failure() == null ? "(the worker gave no reason)" : abbreviate(report.failure());
        }
        return changed;
    }

    /**
     * The guest now runs on {@code hostId}, in that host's worker process, in {@code runState}
     * (the state it had when its job was made: the destination resumes it only if it ran); that
     * process's reports apply from now on.
     */
    void moveTo(String hostId, String workerInstance, GuestState runState) {
        this.hostId = hostId;
        this.workerInstance = workerInstance;
        this.stateSeq = 0;
        this.state = runState.apiName();
    }

    /** A job that left the guest where it was ended: the source restored the run state it had before. */
    boolean settleAfterJob(GuestState runState) {
        if (!state().equals(GuestState.MIGRATING_OUT)) {
            return false;
        }
        state = runState.apiName();
        return true;
    }

    /** The worker process that held this guest's memory is gone. */
    boolean markLostUnless(String currentWorkerInstance) {
        if (workerInstance.equals(currentWorkerInstance) || state().equals(GuestState.LOST)) {
            return false;
        }
        state = GuestState.LOST.apiName();
        return true;
    }

    /** The failure column holds 2000 characters: QEMU's last words are cut to fit. */
    private static String abbreviate(String text) {
        return text.length() <= 2000 ? text : text.substring(0, 1997) + "...";
    }

    void relabel(Map<String, String> newLabels) {
        labels = new TreeMap<>(newLabels);
    }

    public Map<String, String> labels() {
        return Map.copyOf(labels);
    }

    public UUID id() {
        return id;
    }

    public String name() {
        return name;
    }

    public String hostId() {
        return hostId;
    }

    public GuestState state() {
        return GuestState.fromApiName(state);
    }

    public GuestRuntime runtime() {
        return GuestRuntime.fromApiName(runtime);
    }

    /** Why the guest failed; null unless it did. */
    public String failure() {
        return failure;
    }

    public long memoryBytes() {
        return memoryBytes;
    }

    public List<RamBlock> ramBlocks() {
        return List.copyOf(ramBlocks);
    }

    public int deviceStateBytes() {
        return deviceStateBytes;
    }

    public Workload workload() {
        return workload;
    }

    public UUID activeJobId() {
        return activeJobId;
    }

    public Instant createdAt() {
        return createdAt;
    }
}
