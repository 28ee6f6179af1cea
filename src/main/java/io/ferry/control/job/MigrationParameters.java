package io.ferry.control.job;

import io.ferry.channel.ConvergenceSettings;
import io.ferry.channel.MigrationSettings;
import io.ferry.channel.StorageMode;
import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.Embedded;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;

/**
 * Resolved parameters and capabilities of one job (QEMU's migrate-set-parameters and
 * migrate-set-capabilities). Defaults follow QEMU: 128 MiB/s, 300 ms.
 */
@Embeddable
public class MigrationParameters {

    public static final long DEFAULT_MAX_BANDWIDTH = 128L * 1024 * 1024;
    public static final long DEFAULT_DOWNTIME_LIMIT_MS = 300;
    /** QEMU's {@code multifd-channels} default (a job with XBZRLE has one). */
    public static final int DEFAULT_CHANNELS = 2;

    /** Bytes per second; 0 means unlimited. */
    @Column(name = "max_bandwidth", nullable = false)
    private long maxBandwidth;

    @Column(name = "downtime_limit_ms", nullable = false)
    private long downtimeLimitMs;

    @Enumerated(EnumType.STRING)
    @Column(name = "storage_mode", nullable = false)
    private StorageMode storage;

    @Column(nullable = false)
    private boolean postcopy;

    @Embedded
    private ConvergenceParameters convergence;

    @Column(nullable = false)
    private int channels;

    /** Ferry's own: with post-copy, switch by itself after this many pre-copy rounds; 0 waits for a request. */
    @Column(name = "postcopy_after_iterations", nullable = false)
    private int postcopyAfterIterations;

    /** Ferry's own: with post-copy, switch by itself once a round leaves no less to send than the one before. */
    @Column(name = "postcopy_when_not_converging", nullable = false)
    private boolean postcopyWhenNotConverging;

    /** QEMU's max-postcopy-bandwidth for the background push (bytes/s, 0 unlimited); requested pages are never held back. */
    @Column(name = "max_postcopy_bandwidth", nullable = false)
    private long maxPostcopyBandwidth;

    /** Ferry's own: compare SHA-256 of memory and device state on both sides at switchover (costs downtime). */
    @Column(name = "verify_checksums", nullable = false)
    private boolean verifyChecksums;

    protected MigrationParameters() {
    }

    public MigrationParameters(long maxBandwidth, long downtimeLimitMs, StorageMode storage, boolean postcopy,
                               ConvergenceSettings convergence, int channels,
                               boolean verifyChecksums, int postcopyAfterIterations, boolean postcopyWhenNotConverging,
                               long maxPostcopyBandwidth) {
        this.maxBandwidth = maxBandwidth;
        this.downtimeLimitMs = downtimeLimitMs;
        this.storage = storage;
        this.postcopy = postcopy;
        this.convergence = new ConvergenceParameters(convergence);
        this.channels = channels;
        this.verifyChecksums = verifyChecksums;
        this.postcopyAfterIterations = postcopyAfterIterations;
        this.postcopyWhenNotConverging = postcopyWhenNotConverging;
        this.maxPostcopyBandwidth = maxPostcopyBandwidth;
    }

    public int postcopyAfterIterations() {
        return postcopyAfterIterations;
    }

    public boolean postcopyWhenNotConverging() {
        return postcopyWhenNotConverging;
    }

    public long maxPostcopyBandwidth() {
        return maxPostcopyBandwidth;
    }

    public long maxBandwidth() {
        return maxBandwidth;
    }

    public long downtimeLimitMs() {
        return downtimeLimitMs;
    }

    public StorageMode storage() {
        return storage;
    }

    public boolean postcopy() {
        return postcopy;
    }

    public ConvergenceSettings convergence() {
        return convergence.settings();
    }

    public int channels() {
        return channels;
    }

    /** What the source's engine runs with (the control channel's form of these parameters). */
    public MigrationSettings settings() {
        return new MigrationSettings(maxBandwidth, downtimeLimitMs, verifyChecksums, storage,
                new MigrationSettings.PostcopySettings(postcopy, postcopyAfterIterations, postcopyWhenNotConverging,
                        maxPostcopyBandwidth), channels, convergence.settings());
    }

    public boolean verifyChecksums() {
        return verifyChecksums;
    }

    /** Turns auto-converge on (an escalation step, or an operator's tune). */
    void enableAutoConverge() {
        convergence.enableAutoConverge();
    }

    void tune(Long newMaxBandwidth, Long newDowntimeLimitMs) {
        if (newMaxBandwidth != null) {
            maxBandwidth = newMaxBandwidth;
        }
        if (newDowntimeLimitMs != null) {
            downtimeLimitMs = newDowntimeLimitMs;
        }
    }
}
