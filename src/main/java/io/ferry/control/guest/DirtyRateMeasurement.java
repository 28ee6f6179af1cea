package io.ferry.control.guest;

import io.ferry.channel.DirtyRateMode;
import io.ferry.channel.DirtyRateReport;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * A guest's latest dirty-rate measurement (QEMU's calc-dirty-rate, then query-dirty-rate): what
 * was asked, on which host, and once measured the figures. One row per guest; a new measurement
 * replaces the last under a new {@code measurementId}, and only the run holding that id may
 * record the end, so a late answer of a replaced run changes nothing.
 *
 * <p>A run lives in one control-plane process; if that process dies the row would say
 * {@code measuring} for ever. So a measurement still {@code measuring} past its window plus
 * {@link #RESULT_GRACE} reads as {@code failed} (and a new one may start): by then the worker
 * call has timed out (its read timeout is the window plus 30 s) and recorded its end, unless
 * nothing is left to record it.
 */
@Entity
@Table(name = "guest_dirty_rate")
public class DirtyRateMeasurement {

    /** Beyond the worker call's own timeout (window + 30 s), so a live run always records its end first. */
    static final Duration RESULT_GRACE = Duration.ofSeconds(45);

    @Id
    @Column(name = "guest_id")
    private UUID guestId;

    @Column(name = "measurement_id", nullable = false)
    private UUID measurementId;

    @Column(nullable = false)
    private String status;

    @Column(nullable = false)
    private String mode;

    @Column(name = "window_ms", nullable = false)
    private long windowMs;

    @Column(name = "sample_pages_per_gib", nullable = false)
    private int samplePagesPerGiB;

    @Column(name = "host_id", nullable = false)
    private String hostId;

    @Column(name = "started_at", nullable = false)
    private Instant startedAt;

    @Column(name = "measured_at")
    private Instant measuredAt;

    @Column(name = "measured_window_ms")
    private Double measuredWindowMs;

    @Column(name = "sampled_pages")
    private Long sampledPages;

    @Column(name = "changed_pages")
    private Long changedPages;

    @Column(name = "total_pages")
    private Long totalPages;

    @Column(name = "dirty_pages_per_second")
    private Double dirtyPagesPerSecond;

    @Column(name = "dirty_bytes_per_second")
    private Double dirtyBytesPerSecond;

    @Column(name = "zero_page_fraction")
    private Double zeroPageFraction;

    @Column(name = "guest_state")
    private String guestState;

    @Column
    private String reason;

    @Version
    private long version;

    protected DirtyRateMeasurement() {
    }

    DirtyRateMeasurement(UUID guestId) {
        this.guestId = guestId;
    }

    /** Starts a new measurement in this row, forgetting the last one's figures. */
    void start(UUID measurementId, DirtyRateMode mode, long windowMs, int samplePagesPerGiB, String hostId,
               Instant startedAt) {
        this.measurementId = measurementId;
        this.status = DirtyRateStatus.MEASURING.apiName();
        this.mode = mode.apiName();
        this.windowMs = windowMs;
        this.samplePagesPerGiB = samplePagesPerGiB;
        this.hostId = hostId;
        this.startedAt = startedAt;
        this.measuredAt = null;
        this.measuredWindowMs = null;
        this.sampledPages = null;
        this.changedPages = null;
        this.totalPages = null;
        this.dirtyPagesPerSecond = null;
        this.dirtyBytesPerSecond = null;
        this.zeroPageFraction = null;
        this.guestState = null;
        this.reason = null;
    }

    /** Records the worker's figures; false if this row no longer waits for {@code run}. */
    boolean measured(UUID run, DirtyRateReport report) {
        if (!awaits(run)) {
            return false;
        }
        status = DirtyRateStatus.MEASURED.apiName();
        measuredAt = report.measuredAt();
        measuredWindowMs = report.measuredWindowMs();
        sampledPages = report.sampledPages();
        changedPages = report.changedPages();
        totalPages = report.totalPages();
        dirtyPagesPerSecond = report.dirtyPagesPerSecond();
        dirtyBytesPerSecond = report.dirtyBytesPerSecond();
        zeroPageFraction = report.zeroPageFraction();
        guestState = report.guestState();
        return true;
    }

    /** Records why {@code run} has no figures; false if this row no longer waits for it. */
    boolean failed(UUID run, String why, Instant at) {
        if (!awaits(run)) {
            return false;
        }
        status = DirtyRateStatus.FAILED.apiName();
        measuredAt = at;
        reason = why.length() > 1024 ? why.substring(0, 1021) + "..." : why;
        return true;
    }

    private boolean awaits(UUID run) {
        return Objects.equals(measurementId, run) && status.equals(DirtyRateStatus.MEASURING.apiName());
    }

    /** When a {@code measuring} row stops being believed. */
    public Instant resultDeadline() {
        return startedAt.plusMillis(windowMs).plus(RESULT_GRACE);
    }

    /** The status as of {@code now}: a run past {@link #resultDeadline()} reads as failed. */
    public DirtyRateStatus status(Instant now) {
        DirtyRateStatus recorded = DirtyRateStatus.fromApiName(status);
        return recorded.isRunning() && now.isAfter(resultDeadline()) ? DirtyRateStatus.FAILED : recorded;
    }

    /** Why it failed as of {@code now}; null unless {@link #status(Instant)} is failed. */
    public String reason(Instant now) {
        if (status(now) != DirtyRateStatus.FAILED) {
            return null;
        }
        return reason != null ? reason : "no result by " + resultDeadline() + " (window " + windowMs
                + " ms + " + RESULT_GRACE.toSeconds() + " s): the control plane that ran the measurement stopped"
                + " before the worker answered";
    }

    /** The figures as the worker reported them; empty unless measured. */
    public java.util.Optional<DirtyRateReport> report() {
        if (!status.equals(DirtyRateStatus.MEASURED.apiName())) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new DirtyRateReport(guestId, mode(), windowMs, measuredWindowMs,
                samplePagesPerGiB, sampledPages, changedPages, totalPages, dirtyPagesPerSecond, dirtyBytesPerSecond,
                zeroPageFraction, guestState, measuredAt));
    }

    public UUID guestId() {
        return guestId;
    }

    public DirtyRateMode mode() {
        return DirtyRateMode.fromApiName(mode);
    }

    public long windowMs() {
        return windowMs;
    }

    public int samplePagesPerGiB() {
        return samplePagesPerGiB;
    }

    public String hostId() {
        return hostId;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /** When the figures were taken (or the failure recorded); null while measuring. */
    public Instant measuredAt() {
        return measuredAt;
    }

    public Double measuredWindowMs() {
        return measuredWindowMs;
    }

    public Long sampledPages() {
        return sampledPages;
    }

    public Double dirtyPagesPerSecond() {
        return dirtyPagesPerSecond;
    }

    public Double dirtyBytesPerSecond() {
        return dirtyBytesPerSecond;
    }

    public Double zeroPageFraction() {
        return zeroPageFraction;
    }

    /** The guest's state the worker reported at the end of the window; null unless measured. */
    public String guestState() {
        return guestState;
    }
}
