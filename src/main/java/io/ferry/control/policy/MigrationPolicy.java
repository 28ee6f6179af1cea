package io.ferry.control.policy;

import io.ferry.control.job.DowntimeRamp;
import io.ferry.channel.CompressionMethod;
import io.ferry.control.job.ConvergenceTuning;
import io.ferry.control.job.EscalationStep;
import io.ferry.control.job.RequestedConvergence;
import io.ferry.control.job.JobPriority;
import io.ferry.channel.StorageMode;
import io.ferry.control.system.LabelsConverter;
import jakarta.persistence.Column;
import jakarta.persistence.Convert;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * A migration policy: selects guests by their labels and their host's labels, and sets
 * migration values for them (see {@link PolicySettings}). Like KubeVirt's MigrationPolicy.
 */
@Entity
@Table(name = "migration_policies")
public class MigrationPolicy {

    @Id
    private String name;

    private String description;

    @Convert(converter = LabelsConverter.class)
    @Column(name = "guest_selector", nullable = false)
    private Map<String, String> guestSelector = new TreeMap<>();

    @Convert(converter = LabelsConverter.class)
    @Column(name = "host_selector", nullable = false)
    private Map<String, String> hostSelector = new TreeMap<>();

    @Convert(converter = LabelsConverter.class)
    @Column(name = "destination_selector", nullable = false)
    private Map<String, String> destinationSelector = new TreeMap<>();

    @Column(name = "max_bandwidth")
    private Long maxBandwidth;

    @Column(name = "downtime_limit_ms")
    private Long downtimeLimitMs;

    @Column(name = "downtime_ramp")
    private String downtimeRamp;

    @Column(name = "completion_timeout_per_gib_s")
    private Long completionTimeoutPerGiB;

    @Column(name = "progress_timeout_s")
    private Long progressTimeout;

    @Column(name = "allow_postcopy")
    private Boolean allowPostcopy;

    @Enumerated(EnumType.STRING)
    @Column(name = "storage_mode")
    private StorageMode storage;

    @Enumerated(EnumType.STRING)
    private JobPriority priority;

    private String escalation;

    @Column(name = "escalation_grace_s")
    private Long escalationGrace;

    @Column(name = "verify_checksums")
    private Boolean verifyChecksums;

    @Column(name = "auto_converge")
    private Boolean autoConverge;

    private Boolean xbzrle;

    /** none, zstd or lz4. */
    private String compression;

    @Column(name = "cpu_throttle_initial")
    private Integer cpuThrottleInitial;

    @Column(name = "cpu_throttle_increment")
    private Integer cpuThrottleIncrement;

    @Column(name = "max_cpu_throttle")
    private Integer maxCpuThrottle;

    @Column(name = "cpu_throttle_tailslow")
    private Boolean cpuThrottleTailslow;

    @Column(name = "xbzrle_cache_size")
    private Long xbzrleCacheSize;

    @Column(name = "compression_level")
    private Integer compressionLevel;

    @Column(name = "created_at", nullable = false)
    private Instant createdAt;

    @Column(name = "updated_at", nullable = false)
    private Instant updatedAt;

    @Version
    private long version;

    protected MigrationPolicy() {
    }

    MigrationPolicy(String name, Instant now) {
        this.name = name;
        this.createdAt = now;
        this.updatedAt = now;
    }

    void define(String newDescription, Map<String, String> newGuestSelector, Map<String, String> newHostSelector,
                PolicySettings s, Instant now) {
        description = newDescription;
        guestSelector = new TreeMap<>(newGuestSelector);
        hostSelector = new TreeMap<>(newHostSelector);
        destinationSelector = new TreeMap<>(s.destinationSelector() == null ? Map.of() : s.destinationSelector());
        maxBandwidth = s.maxBandwidth();
        downtimeLimitMs = s.downtimeLimitMs();
        downtimeRamp = s.downtimeRamp() == null ? null : s.downtimeRamp().format();
        completionTimeoutPerGiB = s.completionTimeoutPerGiB();
        progressTimeout = s.progressTimeout();
        allowPostcopy = s.allowPostcopy();
        storage = s.storage();
        priority = s.priority();
        escalation = s.escalation() == null ? null : EscalationStep.format(s.escalation());
        escalationGrace = s.escalationGrace();
        verifyChecksums = s.verifyChecksums();
        RequestedConvergence c = s.convergence();
        autoConverge = c.autoConverge();
        xbzrle = c.xbzrle();
        compression = c.compression() == null ? null : c.compression().apiName();
        cpuThrottleInitial = c.tuning().cpuThrottleInitial();
        cpuThrottleIncrement = c.tuning().cpuThrottleIncrement();
        maxCpuThrottle = c.tuning().maxCpuThrottle();
        cpuThrottleTailslow = c.tuning().cpuThrottleTailslow();
        xbzrleCacheSize = c.tuning().xbzrleCacheSize();
        compressionLevel = c.tuning().compressionLevel();
        updatedAt = now;
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    public Map<String, String> guestSelector() {
        return Map.copyOf(guestSelector);
    }

    public Map<String, String> hostSelector() {
        return Map.copyOf(hostSelector);
    }

    public PolicySettings settings() {
        return new PolicySettings(maxBandwidth, downtimeLimitMs, downtimeRamp == null ? null : DowntimeRamp.parse(downtimeRamp),
                completionTimeoutPerGiB, progressTimeout, allowPostcopy, storage, priority,
                escalation == null ? null : EscalationStep.parse(escalation), escalationGrace,
                destinationSelector.isEmpty() ? null : Map.copyOf(destinationSelector), verifyChecksums,
                new RequestedConvergence(autoConverge, xbzrle,
                        compression == null ? null : CompressionMethod.fromApiName(compression),
                        new ConvergenceTuning(cpuThrottleInitial, cpuThrottleIncrement, maxCpuThrottle,
                                cpuThrottleTailslow, xbzrleCacheSize, compressionLevel)));
    }

    public Instant createdAt() {
        return createdAt;
    }

    public Instant updatedAt() {
        return updatedAt;
    }

    /** How many labels the policy selects on: the more, the more specific. */
    public int specificity() {
        return guestSelector.size() + hostSelector.size();
    }
}
